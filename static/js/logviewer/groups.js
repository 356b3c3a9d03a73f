// Step groups: a row marked data-group="start" (a ::group::Name or ##[group]Name line, see
// tracking/logtext.py) heads a section that runs to its data-group="end" row. Its header says how
// many lines it holds and how long it took, and folds it. What is known of the groups comes from the
// outline endpoint ({start, end, count, seconds, error, depth}) and from rows as they arrive live.
// On a finished log the sections start folded, except those with an error, which start open and
// marked; on a running log they stay open.
import { numberOf, rowOf } from "./windows.js";

export class Groups {
  constructor({ foldByDefault, onToggle }) {
    this.byStart = new Map();
    this.open = []; // starts of the groups still open while lines arrive, innermost last
    this.foldByDefault = foldByDefault;
    this.onToggle = onToggle;
  }

  group(start) {
    let group = this.byStart.get(start);
    if (!group) {
      group = { start, end: null, name: "", count: 0, seconds: null, error: false, expanded: !this.foldByDefault };
      this.byStart.set(start, group);
    }
    return group;
  }

  // The outline's groups: what the server knows of the whole log.
  load(groups) {
    for (const known of groups || []) {
      const isNew = !this.byStart.has(known.start);
      const group = this.group(known.start);
      Object.assign(group, { end: known.end, name: known.name, count: known.count, seconds: known.seconds });
      group.error = group.error || Boolean(known.error);
      if (isNew && group.error) group.expanded = true;
      this.decorate(rowOf(group.start));
    }
    this.refold();
  }

  // A row as it arrives live: a marker opens or closes a group; an error marks the open ones.
  see(row, live) {
    const number = numberOf(row);
    const kind = row.dataset.group;
    if (kind === "start") {
      const group = this.group(number);
      group.name = group.name || row.querySelector(".log-message").textContent;
      group.startedAt = timeOf(row);
      if (live) {
        group.expanded = true;
        this.open.push(number);
      }
    } else if (kind === "end" && live && this.open.length) {
      const group = this.group(this.open.pop());
      group.end = number;
      group.count = number - group.start - 1;
      const ended = timeOf(row);
      if (group.startedAt !== null && ended !== null) group.seconds = (ended - group.startedAt) / 1000;
      this.decorate(rowOf(group.start));
    } else if (live && row.classList.contains("log-error")) {
      for (const start of this.open) {
        const group = this.group(start);
        if (!group.error) {
          group.error = true;
          this.decorate(rowOf(start));
        }
      }
    }
    if (live && this.open.length) {
      const group = this.group(this.open[this.open.length - 1]);
      group.count = Math.max(group.count, number - group.start);
    }
  }

  // Give a header row its fold button and summary, and hide a row a folded group holds.
  adopt(row) {
    if (row.dataset.group === "start") this.decorate(row);
    row.classList.toggle("log-folded", this.hides(numberOf(row)));
  }

  decorate(row) {
    if (!row) return;
    const group = this.group(numberOf(row));
    let button = row.querySelector(".log-fold");
    if (!button) {
      row.classList.add("log-group");
      button = document.createElement("button");
      button.type = "button";
      button.className = "log-fold";
      const message = row.querySelector(".log-message");
      message.before(button);
      button.append(message);
      const summary = document.createElement("span");
      summary.className = "log-group-summary";
      button.after(summary);
    }
    button.tabIndex = row.classList.contains("log-stop") ? 0 : -1;
    if (row.classList.contains("log-stop")) row.tabIndex = -1;
    button.setAttribute("aria-expanded", group.expanded ? "true" : "false");
    row.classList.toggle("log-group-failed", group.error);
    const parts = [];
    if (group.end !== null || group.count) parts.push(lines(group.count) + (group.end === null ? " so far" : ""));
    if (group.seconds !== null && group.seconds !== undefined) parts.push(duration(group.seconds));
    if (group.error) parts.push("has an error");
    row.querySelector(".log-group-summary").textContent = parts.join(" · ");
  }

  // Whether a collapsed group hides line `number`.
  hides(number) {
    for (const group of this.byStart.values()) {
      if (!group.expanded && group.start < number && (group.end === null || number <= group.end)) return true;
    }
    return false;
  }

  // The lines from..to that the collapsed groups hide, as runs [low, high] in order, none overlapping.
  folded(from, to) {
    const spans = [];
    for (const group of this.byStart.values()) {
      if (group.expanded) continue;
      const low = Math.max(from, group.start + 1);
      const high = Math.min(to, group.end === null ? to : group.end);
      if (low <= high) spans.push([low, high]);
    }
    spans.sort((a, b) => a[0] - b[0]);
    const runs = [];
    for (const [low, high] of spans) {
      const last = runs[runs.length - 1];
      if (last && low <= last[1] + 1) last[1] = Math.max(last[1], high);
      else runs.push([low, high]);
    }
    return runs;
  }

  toggle(start, expanded) {
    const group = this.group(start);
    group.expanded = expanded === undefined ? !group.expanded : expanded;
    this.decorate(rowOf(start));
    this.refold();
    this.onToggle(group);
  }

  // Open every group that hides line `number` (a link, a search match or an error inside it).
  reveal(number) {
    let changed = false;
    for (const group of this.byStart.values()) {
      if (!group.expanded && group.start < number && (group.end === null || number <= group.end)) {
        group.expanded = true;
        this.decorate(rowOf(group.start));
        changed = true;
      }
    }
    if (changed) {
      this.refold();
      this.onToggle(null);
    }
  }

  refold() {
    document.querySelectorAll("#log-lines > .log-line").forEach((row) => {
      row.classList.toggle("log-folded", this.hides(numberOf(row)));
    });
  }
}

function timeOf(row) {
  const time = row.querySelector("time");
  const at = time ? Date.parse(time.getAttribute("datetime")) : NaN;
  return Number.isNaN(at) ? null : at;
}

function lines(count) {
  return count.toLocaleString() + (count === 1 ? " line" : " lines");
}

function duration(seconds) {
  if (seconds < 60) return (seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)) + " s";
  const minutes = Math.floor(seconds / 60);
  return minutes + " min " + Math.round(seconds - minutes * 60) + " s";
}
