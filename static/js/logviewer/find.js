// Find, on the server: the search endpoint looks through the whole stored log and answers the
// matching line numbers ({count, lines (the first 1,000), capped}); next and previous walk them
// from where the reader is, and a jump loads only the window around the match. A query the server
// refuses (empty, too long, a regex it cannot run) gets its sentence (a 400's {"error"}).
import { getJSON, withQuery } from "./net.js";
import { numberOf, rowOf } from "./windows.js";

export class Find {
  // options: input, label (where the count is written), url, delay (ms after typing), refreshDelay
  // (ms after live lines before asking again), here() (the line the reader is at), jump(number)
  // (resolves once the line is shown), say(sentence), hidden() (the levels filtered out: their
  // lines are not searched).
  //
  // Typing asks once, `delay` after the last key; a request still running when another is made is
  // cancelled (AbortController), so a typed word costs the server one search, or two at most.
  constructor(options) {
    Object.assign(this, options);
    this.refreshDelay = this.refreshDelay || 1000;
    this.controller = null; // the request in flight
    this.refreshTimer = null;
    this.query = "";
    this.matches = [];
    this.set = new Set();
    this.count = 0;
    this.capped = false;
    this.current = -1;
    this.searching = null;
    this.timer = null;
    this.highlights = window.CSS && CSS.highlights && window.Highlight ? new Highlight() : null;
    if (this.highlights) CSS.highlights.set("log-find", this.highlights);
    this.input.addEventListener("input", () => {
      window.clearTimeout(this.timer);
      this.timer = window.setTimeout(() => this.search(true), this.delay);
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        this.step(event.shiftKey ? -1 : 1);
      } else if (event.key === "Escape" && this.input.value) {
        event.preventDefault();
        this.input.value = "";
        this.search(false);
      }
    });
    this.input.form.addEventListener("submit", (event) => event.preventDefault());
    this.regex = this.input.form.elements.regex;
    this.regex.addEventListener("change", () => this.askAgain());
  }

  // The same text, asked differently (as a regex or not, other levels shown).
  askAgain() {
    this.query = null;
    this.search(false);
  }

  // Ask the server; `jump`: show the first match after the reader's place once it answers;
  // `again`: the same query asked again (new lines came), keeping the current match and the marks
  // until the answer replaces them.
  search(jump, again = false) {
    window.clearTimeout(this.timer);
    window.clearTimeout(this.refreshTimer);
    const query = this.input.value.trim();
    if (!again && query === this.query && this.searching) return this.searching;
    const regex = this.regex.checked;
    const keep = again && this.current !== -1 ? this.matches[this.current] : null;
    if (this.controller) this.controller.abort();
    const controller = query ? new AbortController() : null;
    this.controller = controller;
    this.query = query;
    this.refused = "";
    if (!again) this.clear();
    if (!query) {
      this.searching = null;
      this.write("");
      return Promise.resolve();
    }
    if (!again) this.write("Searching…");
    const params = regex ? { q: query, regex: 1 } : { q: query };
    const hidden = this.hidden();
    if (hidden.length) params.hide = hidden.join(",");
    this.searching = getJSON(withQuery(this.url, params), { signal: controller.signal }).then(
      (answer) => {
        if (this.controller !== controller) return;
        this.controller = null;
        if (again) this.clear();
        this.matches = answer.lines || [];
        if (keep !== null) this.current = this.matches.indexOf(keep);
        this.set = new Set(this.matches);
        this.count = answer.count || 0;
        this.capped = Boolean(answer.capped);
        this.markLoaded();
        this.label();
        // Not awaited here: step() waits for this very search to settle.
        if (jump && this.matches.length && document.activeElement === this.input) this.step(1);
      },
      (error) => {
        if (this.controller !== controller) return; // cancelled by a newer search
        this.controller = null;
        const sentence =
          error.body && error.body.error
            ? error.body.error
            : error.status
              ? "The search failed (the dashboard answered " + error.status + "). Try again."
              : "The search failed: the dashboard cannot be reached. Try again.";
        this.refused = sentence;
        this.write(sentence);
        this.say(sentence);
      },
    );
    return this.searching;
  }

  // Live lines arrived: they may match. The search is asked again once they stop coming for
  // `refreshDelay`, and the count says it is out of date meanwhile.
  linesAdded() {
    if (!this.query || this.refused) return;
    if (!this.refreshTimer && this.label_ && !this.label_.endsWith("(updating)")) {
      this.labelElement.textContent = this.label_ + " (updating)";
    }
    window.clearTimeout(this.refreshTimer);
    this.refreshTimer = window.setTimeout(() => {
      this.refreshTimer = null;
      this.search(false, true);
    }, this.refreshDelay);
  }

  clear() {
    document.querySelectorAll(".log-match").forEach((row) => row.classList.remove("log-match", "log-match-current"));
    this.matches = [];
    this.set = new Set();
    this.count = 0;
    this.current = -1;
    if (this.highlights) this.highlights.clear();
  }

  write(text) {
    this.label_ = text;
    this.labelElement.textContent = text;
  }

  label() {
    if (!this.query) return this.write("");
    if (this.refused) return this.write(this.refused);
    const total = this.count.toLocaleString();
    if (!this.count) return this.write("No match");
    const of = this.capped ? "first " + this.matches.length.toLocaleString() + " of " + total : total;
    if (this.current === -1) return this.write(of + (this.count === 1 ? " match" : " matches"));
    return this.write((this.current + 1).toLocaleString() + " of " + of);
  }

  async step(direction) {
    if (this.input.value.trim() !== this.query || !this.searching) await this.search(false);
    else await this.searching;
    if (!this.matches.length) return this.label();
    if (this.current === -1) {
      const start = this.here();
      const index = direction > 0 ? this.matches.findIndex((n) => n >= start) : findLastIndex(this.matches, (n) => n <= start);
      this.current = index === -1 ? (direction > 0 ? 0 : this.matches.length - 1) : index;
    } else {
      this.current = (this.current + direction + this.matches.length) % this.matches.length;
    }
    const number = this.matches[this.current];
    document.querySelectorAll(".log-match-current").forEach((row) => row.classList.remove("log-match-current"));
    this.label();
    await this.jump(number);
    const row = rowOf(number);
    if (row && this.matches[this.current] === number) row.classList.add("log-match-current");
    return undefined;
  }

  // Rows that arrive (a window, live lines) are marked if they match.
  adopt(root) {
    if (!this.set.size) return;
    root.querySelectorAll(".log-line").forEach((row) => {
      const number = numberOf(row);
      if (!this.set.has(number)) return;
      row.classList.add("log-match");
      if (this.matches[this.current] === number) row.classList.add("log-match-current");
      this.highlight(row);
    });
  }

  markLoaded() {
    this.adopt(document.getElementById("log-lines"));
  }

  // The matched text itself, through the CSS Custom Highlight API (no markup is added to the line);
  // a plain, case-insensitive substring (a regex query marks the line only).
  highlight(row) {
    if (!this.highlights) return;
    if (this.regex.checked) return; // the line is marked; the server's regex is not the browser's
    const needle = this.query.toLowerCase();
    const message = row.querySelector(".log-message");
    if (!message || !needle) return;
    const walker = document.createTreeWalker(message, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.data.toLowerCase();
      for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) {
        const range = new Range();
        range.setStart(node, at);
        range.setEnd(node, at + needle.length);
        this.highlights.add(range);
      }
    }
  }

  // After rows were dropped: forget their ranges.
  prune() {
    if (!this.highlights) return;
    for (const range of Array.from(this.highlights)) {
      if (!range.startContainer.isConnected) this.highlights.delete(range);
    }
  }
}

function findLastIndex(items, test) {
  for (let index = items.length - 1; index >= 0; index -= 1) if (test(items[index])) return index;
  return -1;
}
