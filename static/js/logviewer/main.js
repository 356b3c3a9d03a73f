// The job page's log viewer (tracking/_log_viewer.html), as ES modules served without a build step:
//
//   main.js     wiring: opening place, follow and pause, line links, errors, levels, keyboard
//   windows.js  the lines in the page: windows around the view, holes for the rest
//   stream.js   live events: the shared stream, the page's own EventSource, or polling
//   find.js     search on the server, next and previous across the whole log
//   groups.js   step groups folded into sections
//   levels.js   the levels filtered out: how many lines of them a range holds
//   colours.js  painting 256-colour and truecolor spans at a readable contrast
//   prefs.js    wrap and timestamps, kept in localStorage
//   net.js      requests and the one retry policy
//
// The page works without it (the head and tail of the log, line links, the raw log, a Refresh
// link). CSP forbids inline scripts and style attributes: everything is wired from the data-
// attributes of [data-log-viewer], timings included (data-poll-ms, data-open-ms, data-window, …).
import { fixBackgrounds, paint } from "./colours.js";
import { Find } from "./find.js";
import { Groups } from "./groups.js";
import { Levels } from "./levels.js";
import { getJSON } from "./net.js";
import { applyPref, readPref, savePref } from "./prefs.js";
import { follow as followStream } from "./stream.js";
import { Lines, numberOf, rowOf } from "./windows.js";

const HASH = /^#L(\d+)(?:-L(\d+))?$/;

const viewer = document.querySelector("[data-log-viewer]");
if (viewer) start(viewer);

async function start(viewer) {
  const data = viewer.dataset;
  const scroller = viewer.querySelector(".logviewer-scroll");
  const list = viewer.querySelector(".logviewer-lines");
  const status = viewer.querySelector(".logviewer-live");
  const newButton = viewer.querySelector(".logviewer-new");
  const lineCount = viewer.querySelector(".logviewer-count");
  const errorCount = viewer.querySelector(".logviewer-error-count");
  const windowSize = Number(data.window) || 200;

  let lastId = Number(data.lastId) || 0;
  let finished = data.live !== "true";
  let following = false;
  let pendingNew = 0;
  let anchorLine = null; // where a shift-click extends a range from
  let selection = null; // [low, high]
  let outline = null;
  const errors = new Set(); // error lines known: the outline's and those seen

  const say = (sentence) => {
    if (status.textContent !== sentence) status.textContent = sentence;
  };
  // The connection is live, but lines only move while the poller runs: its "paused" notice
  // (includes/tracker.html) is said instead while it is on the page.
  const sayLive = (sentence) => {
    const paused = document.getElementById("notice-tracker");
    say(paused && sentence.startsWith("Live") ? paused.dataset.sentence : sentence);
  };

  // --- rows as they arrive ---------------------------------------------------------------------------

  const groups = new Groups({
    foldByDefault: finished,
    onToggle: () => {
      lines.resizeHoles();
      lines.schedule();
    },
  });

  const levels = new Levels({ url: data.levelsUrl });

  function adopt(root) {
    for (const row of root.querySelectorAll(".log-line")) {
      const number = numberOf(row);
      levels.see(number, levelOf(row));
      const link = row.querySelector("a.log-number");
      if (link) {
        // A number is a link without JavaScript; here the row is the one tab stop and Enter links it.
        link.removeAttribute("href");
        link.removeAttribute("aria-label");
      }
      row.querySelectorAll(".log-message a").forEach((anchor) => (anchor.tabIndex = -1));
      if (row.classList.contains("log-error")) errors.add(number);
      groups.adopt(row);
      if (selection && number >= selection[0] && number <= selection[1]) row.classList.add("log-selected");
    }
    unchecked.push(...paint(root));
    if (find) find.adopt(root);
  }

  // Spans with a background of their own, painted but not yet checked against it (they can be
  // only once in the page). Only those: looking through every row at each change cost a frame.
  let unchecked = [];
  let redraw = 0;
  function changed() {
    if (redraw) return;
    redraw = window.requestAnimationFrame(() => {
      redraw = 0;
      fixBackgrounds(unchecked.filter((span) => span.isConnected));
      unchecked = [];
      counts();
      keepStop();
    });
  }

  const lines = new Lines({
    list,
    scroller,
    url: data.linesUrl,
    total: Number(data.total) || 0,
    windowSize,
    limit: 5000,
    keep: Number(data.keep) || 200,
    maxRows: Number(data.maxRows) || 600,
    adopt,
    levels,
    shown: (from, to) => {
      let hidden = levels.hiddenIn(from, to);
      for (const [low, high] of groups.folded(from, to)) hidden += high - low + 1 - levels.hiddenIn(low, high);
      return to - from + 1 - hidden;
    },
    onChange: changed,
    onTrim: () => {
      if (find) find.prune();
      changed();
    },
    onError: (error) =>
      say(
        error.status
          ? "Those lines could not be loaded (the dashboard answered " + error.status + "). Scroll to try again, or read the raw log."
          : "Those lines could not be loaded: the dashboard cannot be reached. Scroll to try again, or read the raw log.",
      ),
  });

  function counts() {
    const total = lines.total;
    lineCount.textContent = total.toLocaleString() + (total === 1 ? " line" : " lines");
    const known = Math.max(errors.size, outline ? outline.error_count : 0);
    errorCount.textContent = known === 1 ? "1 error" : (known ? known.toLocaleString() : "No") + " errors";
    viewer.style.setProperty("--log-digits", String(total).length);
  }

  // --- the one tab stop of the log (roving tabindex) --------------------------------------------------

  const target = (row) => row.querySelector(".log-fold") || row;
  const visible = (row) => row && row.classList.contains("log-line") && row.offsetParent !== null;

  // The row holding the stop has the class log-stop; its focus target (the row, or a step header's
  // fold button) has tabindex 0, every other row and button -1.
  function setStop(row, focus) {
    list.querySelectorAll(".log-stop").forEach((old) => {
      old.classList.remove("log-stop");
      old.tabIndex = -1;
      target(old).tabIndex = -1;
    });
    row.classList.add("log-stop");
    const element = target(row);
    row.tabIndex = element === row ? 0 : -1;
    element.tabIndex = 0;
    if (focus) element.focus({ preventScroll: true });
  }

  function keepStop() {
    if (list.querySelector(".log-stop")) return;
    const [first] = lines.inView();
    const row = rowOf(first) || list.querySelector(".log-line");
    if (row) setStop(row, false);
  }

  // The nearest shown row from line `number` on, going `direction` (+1/-1), loading as needed.
  async function shownRow(number, direction) {
    number = Math.min(Math.max(1, number), lines.total);
    for (let guard = 0; guard < 20; guard += 1) {
      await lines.ensure(number - (direction < 0 ? windowSize : 0), number + (direction > 0 ? windowSize : 0));
      let row = rowOf(number);
      while (row && !visible(row)) {
        row = direction > 0 ? row.nextElementSibling : row.previousElementSibling;
        if (row && row.classList.contains("log-hole")) break;
      }
      if (visible(row)) return row;
      if (!row) return null;
      number = direction > 0 ? Number(row.dataset.from) : Number(row.dataset.to);
    }
    return null;
  }

  async function moveTo(number, direction) {
    setFollow(false);
    const row = await shownRow(number, direction);
    if (!row) return;
    setStop(row, true);
    lines.show(row, "nearest");
  }

  list.addEventListener("keydown", (event) => {
    const row = event.target.closest(".log-line");
    if (!row || event.altKey || event.ctrlKey || event.metaKey) return;
    const number = numberOf(row);
    const page = Math.max(1, Math.floor(scroller.clientHeight / lines.rowHeight) - 1);
    const group = row.dataset.group === "start" ? row.querySelector(".log-fold") : null;
    const moves = {
      ArrowDown: [number + 1, 1],
      ArrowUp: [number - 1, -1],
      PageDown: [number + page, 1],
      PageUp: [number - page, -1],
      Home: [1, 1],
      End: [lines.total, -1],
    };
    if (moves[event.key]) {
      moveTo(...moves[event.key]);
    } else if (group && (event.key === "ArrowRight" || event.key === "ArrowLeft")) {
      groups.toggle(number, event.key === "ArrowRight");
    } else if (event.key === "Enter" && !group) {
      link(number, event.shiftKey);
    } else {
      return;
    }
    event.preventDefault();
  });

  // --- follow, jumps, line links -----------------------------------------------------------------------

  const atEnd = () =>
    !(list.lastElementChild && list.lastElementChild.classList.contains("log-hole")) &&
    scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 24;

  function setFollow(on) {
    following = on;
    const button = viewer.querySelector('[data-toggle="follow"]');
    if (button) button.setAttribute("aria-pressed", on ? "true" : "false");
    if (on) {
      pendingNew = 0;
      newButton.hidden = true;
    }
  }

  async function toEnd() {
    await lines.ensure(lines.total - windowSize, lines.total);
    scroller.scrollTop = scroller.scrollHeight;
  }

  // Show line `number` (opening groups that hide it, showing its level again if it was filtered
  // out, and loading only its window).
  async function goTo(number, block) {
    setFollow(false);
    groups.reveal(number);
    const half = Math.floor(windowSize / 2);
    await lines.ensure(number - half, number + half);
    const row = rowOf(number);
    if (!row) return null;
    const box = viewer.querySelector('input[data-level="' + levelOf(row) + '"]');
    if (box && !box.checked) {
      box.checked = true;
      await filterLevel(box);
    }
    lines.show(row, block || "center");
    lines.trim(number);
    return row;
  }

  function select(low, high) {
    selection = [low, high];
    list.querySelectorAll(".log-selected").forEach((row) => row.classList.remove("log-selected"));
    for (let number = low; number <= high && number - low < 5000; number += 1) {
      const row = rowOf(number);
      if (row) row.classList.add("log-selected");
    }
  }

  function link(number, extend) {
    const from = extend && anchorLine ? anchorLine : number;
    if (!extend || !anchorLine) anchorLine = number;
    const low = Math.min(from, number);
    const high = Math.max(from, number);
    history.replaceState(null, "", low === high ? "#L" + low : "#L" + low + "-L" + high);
    setFollow(false);
    select(low, high);
  }

  async function arrive() {
    const match = HASH.exec(window.location.hash);
    if (!match) return false;
    const from = Number(match[1]);
    const to = Math.max(from, Number(match[2] || match[1]));
    anchorLine = from;
    setFollow(false);
    if (from > lines.total) {
      say("Line " + from.toLocaleString() + " is not in this log" + (finished ? "." : " yet."));
      return true;
    }
    selection = [from, to];
    const row = await goTo(from);
    if (!row) return true;
    await lines.ensure(from, Math.min(to, from + windowSize));
    select(from, to);
    setStop(row, false);
    return true;
  }

  // --- errors ------------------------------------------------------------------------------------------

  async function readOutline() {
    try {
      outline = await getJSON(data.outlineUrl);
    } catch (error) {
      return null; // groups from the rows, errors from the rows: the viewer works without it
    }
    (outline.errors || []).forEach((number) => errors.add(number));
    lines.total = Math.max(lines.total, outline.total || 0);
    return outline;
  }

  function describe(row) {
    const text = (row.querySelector(".log-message") || row).textContent.trim();
    return text.length > 140 ? text.slice(0, 140) + "…" : text;
  }

  async function goToError(after) {
    if (!finished || !outline) await readOutline();
    const number = Array.from(errors)
      .sort((a, b) => a - b)
      .find((each) => each > after);
    if (number === undefined) {
      say(after ? "No error after line " + after.toLocaleString() + "." : "No error in this log.");
      return;
    }
    const row = await goTo(number);
    if (!row) return;
    history.replaceState(null, "", "#L" + number);
    anchorLine = number;
    select(number, number);
    setStop(row, false);
    say("Error at line " + number.toLocaleString() + ": " + describe(row));
  }

  // Where the reader is: the line holding the tab stop while it is in view, else the first in view.
  function here() {
    const stop = list.querySelector(".log-stop");
    const box = scroller.getBoundingClientRect();
    if (stop) {
      const rect = stop.getBoundingClientRect();
      if (rect.bottom > box.top && rect.top < box.bottom) return numberOf(stop);
    }
    return lines.inView()[0];
  }

  // --- live ------------------------------------------------------------------------------------------

  function parse(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  function appendLive(html) {
    // Read before the new rows change the geometry: a reader who just scrolled away (whose scroll
    // event has not run yet) must not be pulled back to the end.
    if (following && !atEnd()) setFollow(false);
    const fragment = parse(html);
    const rows = Array.from(fragment.querySelectorAll(".log-line")).filter((row) => {
      const id = Number(row.dataset.logId);
      if (!id || id <= lastId || rowOf(numberOf(row))) return false;
      lastId = id;
      return true;
    });
    if (!rows.length) return;
    rows.forEach((row) => groups.see(row, true));
    adopt(fragment);
    lines.append(rows);
    find.linesAdded();
    const empty = document.getElementById("no-logs");
    if (empty) empty.remove();
    if (following) {
      scroller.scrollTop = scroller.scrollHeight;
      lines.trim();
      return;
    }
    const first = !pendingNew;
    pendingNew += rows.length;
    newButton.textContent = pendingNew.toLocaleString() + (pendingNew === 1 ? " new line" : " new lines") + ", jump to the end";
    newButton.hidden = false;
    if (first) say("New lines below. The “new lines” button in the log tools jumps to them.");
  }

  // A status event: each element replaces the one with its id (badge, timeline, notices, state).
  function swap(parts) {
    const wasPaused = Boolean(document.getElementById("notice-tracker"));
    for (const [id, html] of Object.entries(parts || {})) {
      const old = document.getElementById(id);
      const element = parse(html).firstElementChild;
      if (!old || !element || element.id !== id) continue;
      old.replaceWith(element);
      if (window.htmx) window.htmx.process(element);
    }
    dropStaleBanners();
    const paused = document.getElementById("notice-tracker");
    if (paused) say(paused.dataset.sentence);
    else if (wasPaused && !finished) say("Live again: the tracker is running.");
  }

  function handle(name, event) {
    if (name === "line") appendLive(event.html || "");
    else if (name === "status") {
      swap(event.html);
      if (event.behind) say("Loading the rest of the log: " + event.behind.toLocaleString() + " lines.");
    } else if (name === "done") {
      finished = true;
      viewer.dataset.live = "false";
      const state = event && event.status;
      say(state === "completed" || state === "failed" ? "The job " + state + "." : "No more lines will come.");
      readOutline().then((known) => known && groups.load(known.groups));
    }
    return name === "done";
  }

  // --- wiring ------------------------------------------------------------------------------------------

  viewer.classList.add("logviewer-js");
  viewer.querySelector(".logviewer-toolbar").hidden = false;
  applyPref(viewer, "wrap", readPref("wrap", true));
  applyPref(viewer, "timestamps", readPref("timestamps", true));

  const find = new Find({
    input: viewer.querySelector(".logviewer-find input"),
    labelElement: viewer.querySelector(".logviewer-find-count"),
    url: data.searchUrl,
    delay: Number(data.findDelayMs) || 250,
    refreshDelay: Number(data.findRefreshMs) || 1000,
    here,
    say,
    hidden: () => Array.from(levels.hidden),
    jump: (number) => goTo(number),
  });

  await readOutline();
  if (outline) groups.load(outline.groups);
  // The server's gap between the head and the tail becomes a hole like any other.
  const gap = list.querySelector(".log-gap");
  if (gap) gap.replaceWith(lines.hole(Number(data.gapFrom), Number(data.gapTo)));
  adopt(list);
  lines.measure();
  lines.resizeHoles();
  lines.listen();
  changed();

  viewer.addEventListener("click", (event) => {
    const element = event.target;
    const number = element.closest(".log-number");
    if (number) {
      event.preventDefault();
      link(numberOf(number.parentNode), event.shiftKey);
      setStop(number.parentNode, false);
      return;
    }
    const fold = element.closest(".log-fold");
    if (fold) {
      const row = fold.closest(".log-line");
      setStop(row, true);
      groups.toggle(numberOf(row));
      return;
    }
    const toggle = element.closest("[data-toggle]");
    if (toggle) {
      const name = toggle.dataset.toggle;
      const on = toggle.getAttribute("aria-pressed") !== "true";
      if (name === "follow") {
        setFollow(on);
        if (on) toEnd();
      } else {
        applyPref(viewer, name, on);
        savePref(name, on);
        lines.measure();
        lines.resizeHoles();
      }
      return;
    }
    if (element.closest(".logviewer-new")) {
      setFollow(true);
      toEnd();
      return;
    }
    const step = element.closest("[data-find-step]");
    if (step) {
      find.step(Number(step.dataset.findStep));
      return;
    }
    const error = element.closest("[data-error]");
    if (error) goToError(error.dataset.error === "first" ? 0 : here());
  });

  // A shift-click on a line number extends the range; it must not also select the page's text.
  list.addEventListener("mousedown", (event) => {
    if (event.shiftKey && event.target.closest(".log-number")) event.preventDefault();
  });

  scroller.addEventListener(
    "scroll",
    () => {
      if (finished) return;
      const end = atEnd();
      if (end !== following) setFollow(end);
    },
    { passive: true },
  );

  // A level shown or hidden: the rows in the page change at once; the holes are sized again once
  // the level counts are in (asked for at the first level hidden), and a search asked again without
  // the hidden lines, so that a match is always a line the reader can see.
  async function filterLevel(box) {
    const name = box.dataset.level;
    const counted = levels.set(name, !box.checked);
    lines.resizeHoles(() => viewer.classList.toggle("logviewer-hide-" + name, !box.checked));
    find.askAgain();
    await counted;
    lines.resizeHoles();
    lines.schedule();
  }

  viewer.querySelectorAll("input[data-level]").forEach((box) => {
    box.addEventListener("change", () => filterLevel(box));
  });

  window.addEventListener("hashchange", arrive);

  // Open where the reader needs to be: a line link's line; a running job's end, following; a failed
  // job's first error; a finished job's end.
  if (!(await arrive())) {
    const first = outline && outline.errors && outline.errors[0];
    if (!finished) {
      setFollow(true);
      await toEnd();
    } else if (data.status === "failed" && first) {
      await goToError(first - 1);
    } else {
      await toEnd();
    }
  }
  // The page came with the log's first and last lines (1,300 rows); those far from where it opened
  // go now rather than in the reader's first scroll.
  lines.trim();
  keepStop();
  dropStaleBanners(); // the job may have moved on between the action and this page
  if (!finished && data.updatesUrl) {
    followStream({
      dataset: data,
      cursor: () => lastId,
      handle,
      state: (sentence) => {
        if (!finished) sayLive(sentence);
      },
    });
  }
  viewer.dataset.ready = "true"; // for tests and benchmarks: the viewer has opened
}

// A row's level, from its class (log-line log-<level>, as tracking's log_row filter writes it).
function levelOf(row) {
  return row.classList[1] ? row.classList[1].slice(4) : "";
}

// A banner about the job's state ("Job #29 (deploy) queued.") goes once the status has moved on.
function dropStaleBanners() {
  const badge = document.getElementById("job-status");
  if (!badge) return;
  document.querySelectorAll('.messages [data-describes^="job-status-"]').forEach((banner) => {
    if (banner.dataset.describes !== "job-status-" + badge.dataset.status) banner.remove();
  });
}
