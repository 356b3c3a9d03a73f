// The log's lines as windows around the reader. A long log is never all in the page: the rows in
// and near the view are, the rest are "holes" (li.log-hole[data-from][data-to], as tall as their
// lines would be), loaded through `lines?from=N&to=M` when they come into view or a jump needs
// them, and rows far from the view go back to being holes, so the page holds a few hundred rows
// whatever the log's length: each window that goes in costs layout, pre-paint and paint work over
// every row in the page, and with 3,000 of them a fast scroll made tasks of 100 ms. The scroll box
// has overflow-anchor: none; what the reader sees is kept in place here, by line, across every
// change above it.
import { getJSON, retrying, sleep, withQuery } from "./net.js";

export const numberOf = (row) => parseInt(row.id.slice(1), 10);
export const rowOf = (number) => document.getElementById("L" + number);

export class Lines {
  // options: list, scroller, url (the window endpoint), total, windowSize, keep (lines kept around
  // the view), maxRows, adopt(root) (decorates rows as they arrive), shown(from, to) (how many of
  // those lines are shown: not in a collapsed group nor of a level filtered out; an estimate where
  // unknown), levels (lineAt and shareBefore: where in a hole's lines a share of its height falls,
  // and back; see levels.js), onChange() (counts to redraw), onTrim().
  constructor(options) {
    Object.assign(this, options);
    this.rowHeight = 20;
    this.ticking = false;
    this.arrived = []; // windows answered, waiting for the next frame to go in
    this.placing = null;
    this.loads = new Set(); // window requests made by scrolling, while they run
    this.round = 0; // fillView's, counted
    // Live collections, kept: each walks the list again only after it changed, not at every look.
    this.rows = this.list.getElementsByClassName("log-line");
    this.holeList = this.list.getElementsByClassName("log-hole");
    this.measure();
  }

  // Load and let go of windows as the reader scrolls, from now on: not before the page's own rows
  // and its gap are set up (a line link scrolls the box as the page loads, and a trim then made
  // holes beside the server's gap, sized before the rows were measured).
  listen() {
    this.scroller.addEventListener("scroll", () => this.schedule(), { passive: true });
  }

  // The height of a plain row, fractional (13 px text is 19.5 px tall): rounded, every hole was
  // a little off, so each window that filled one moved every row below it, and the browser had to
  // repaint all of them at each step of a scroll.
  measure() {
    const row = this.list.querySelector(".log-line:not(.log-group)");
    const height = row ? row.getBoundingClientRect().height : 0;
    if (height) this.rowHeight = height;
  }

  get loaded() {
    return this.rows.length;
  }

  holes() {
    return Array.from(this.holeList);
  }

  holeHolding(number) {
    return this.holes().find((hole) => span(hole)[0] <= number && number <= span(hole)[1]) || null;
  }

  // --- holes -----------------------------------------------------------------------------------------

  hole(from, to, height) {
    const hole = document.createElement("li");
    hole.className = "log-hole";
    hole.setAttribute("aria-hidden", "true");
    hole.dataset.from = from;
    hole.dataset.to = to;
    this.size(hole, height);
    return hole;
  }

  // A hole's height: measured when it replaced rows, else that of the lines it stands for that are
  // shown.
  size(hole, height) {
    const [from, to] = span(hole);
    const pixels = height === undefined ? Math.max(0, this.shown(from, to)) * this.rowHeight : height;
    hole.dataset.height = pixels;
    hole.style.height = pixels + "px";
  }

  // Size every hole again, after `change()` if given (which may hide or show rows), keeping the
  // reader's line in place.
  resizeHoles(change) {
    const anchor = this.anchor();
    if (change) change();
    this.holes().forEach((hole) => this.size(hole));
    this.restore(anchor);
  }

  // Merge a hole with holes right beside it.
  merge(hole) {
    for (const other of [hole.previousElementSibling, hole.nextElementSibling]) {
      if (!other || !other.classList.contains("log-hole") || other.loading || hole.loading) continue;
      const [from, to] = span(hole);
      const [otherFrom, otherTo] = span(other);
      hole.dataset.from = Math.min(from, otherFrom);
      hole.dataset.to = Math.max(to, otherTo);
      this.size(hole, Number(hole.dataset.height) + Number(other.dataset.height));
      other.remove();
    }
  }

  // --- where the reader is ----------------------------------------------------------------------------

  // The line at the top of the view and how far below the view's top it starts (estimated inside a
  // hole), so that it can be put back there after the rows above it change.
  anchor() {
    const box = this.scroller.getBoundingClientRect();
    return box.height ? this.lineAtY(box, box.top + 2) : null;
  }

  // The line at height `y` of the page, and where it starts relative to the view's top.
  lineAtY(box, y) {
    const item = this.itemAt(y);
    if (!item) return null;
    const top = item.getBoundingClientRect().top;
    if (item.classList.contains("log-line")) return { number: numberOf(item), offset: top - box.top };
    const [from, to] = span(item);
    const share = Math.min(1, Math.max(0, (y - 2 - top) / (Number(item.dataset.height) || 1)));
    const number = this.levels.lineAt(from, to, share);
    return { number, offset: this.positionIn(item, number) + top - box.top };
  }

  // The row or hole at height `y` of the page, found by halving the list. Not elementFromPoint: it
  // sees only what is inside the window, and on a short screen the log's box reaches below it (the
  // view's last line was then guessed, folded groups ignored, and a trim dropped the rows in view).
  itemAt(y) {
    const items = this.list.children;
    let low = 0;
    let high = items.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      // Hidden rows (a folded group, a level filtered out) have no box: the next one that has.
      let index = middle;
      while (index <= high && !items[index].getClientRects().length) index += 1;
      if (index > high) {
        high = middle - 1;
        continue;
      }
      const rect = items[index].getBoundingClientRect();
      if (rect.top > y) high = middle - 1;
      else if (rect.bottom <= y) low = index + 1;
      else return items[index];
    }
    return null;
  }

  positionIn(hole, number) {
    const [from, to] = span(hole);
    return this.levels.shareBefore(from, to, number) * Number(hole.dataset.height);
  }

  restore(anchor) {
    if (!anchor) return;
    const box = this.scroller.getBoundingClientRect();
    const row = rowOf(anchor.number);
    let top;
    if (row) {
      // A row hidden since (a level filtered out, a group folded): what follows it takes its place.
      let shown = row;
      while (shown && shown.classList.contains("log-line") && !shown.offsetParent) shown = shown.nextElementSibling;
      if (!shown) return;
      top = shown.getBoundingClientRect().top;
    } else {
      const hole = this.holeHolding(anchor.number);
      if (!hole) return;
      top = hole.getBoundingClientRect().top + this.positionIn(hole, anchor.number);
    }
    this.scroller.scrollTop += top - box.top - anchor.offset;
  }

  // Bring a row into the log's own view ("center", or "nearest": only as far as needed), never
  // scrolling the page around it as scrollIntoView would.
  show(row, block) {
    const box = this.scroller.getBoundingClientRect();
    const rect = row.getBoundingClientRect();
    let delta = 0;
    if (block === "center") delta = rect.top - box.top - (box.height - rect.height) / 2;
    else if (rect.top < box.top) delta = rect.top - box.top;
    else if (rect.bottom > box.bottom) delta = rect.bottom - box.bottom;
    this.scroller.scrollTop += delta;
  }

  // The first and last line numbers in (or nearest) the view: the last is looked up, not counted
  // from the first, since rows hidden by a filter can put thousands of lines in one view.
  inView(anchor = this.anchor()) {
    const first = anchor ? anchor.number : 1;
    const box = this.scroller.getBoundingClientRect();
    const bottom = box.height ? this.lineAtY(box, box.bottom - 2) : null;
    if (bottom) return [first, Math.max(first, bottom.number)];
    if (this.list.getBoundingClientRect().bottom < box.bottom) return [first, this.total]; // the log ends in view
    return [first, Math.min(this.total, first + Math.ceil(box.height / this.rowHeight))];
  }

  // --- loading ----------------------------------------------------------------------------------------

  schedule() {
    if (this.ticking) return;
    this.ticking = true;
    window.requestAnimationFrame(() => {
      this.ticking = false;
      this.fillView().catch(() => {}); // a failed load says so (onError); scrolling retries it
    });
  }

  // Load what of the holes is in view, then a view's height around it, then drop rows far from it.
  // The view goes first, on its own: in a fast scroll the view has moved on before the lines around
  // it are needed, and loading both put three views of rows into every frame. A hole of no height
  // stands for no line shown (all filtered out or folded): nothing to load. When a filter leaves few
  // lines shown, the view spans many windows: it is filled a round at a time (a trim may make holes
  // just around it again). The trim waits for a task of its own, after the frame that draws the new
  // rows: in the same one, each frame of a fast scroll both built a window and tore rows down.
  async fillView() {
    this.cancelLeftBehind();
    this.round += 1;
    const round = this.round;
    const view = this.wanted(0);
    const wanted = view.length ? view : this.wanted(1);
    const loaded = await Promise.all(wanted.map(([from, to]) => this.ensure(from, to, round)));
    await sleep(0);
    this.trim();
    if (wanted.length && loaded.every(Boolean) && (view.length || this.wanted(0).length)) this.schedule();
  }

  // Cancel the scroll loads of lines that a trim would drop as soon as they came (far from the
  // view): a fast scroll queued dozens of them, and the place the reader stopped at waited for all.
  cancelLeftBehind() {
    if (!this.loads.size) return;
    const [first, last] = this.inView();
    for (const load of this.loads) {
      if (load.to < first - this.keep || load.from > last + this.keep) load.controller.abort();
    }
  }

  // The windows of lines that the holes in the view, and `views` view heights around it, stand for.
  wanted(views) {
    const box = this.scroller.getBoundingClientRect();
    const margin = box.height * views;
    const wanted = [];
    for (const hole of this.holes()) {
      const height = Number(hole.dataset.height);
      if (!height) continue;
      const rect = hole.getBoundingClientRect();
      if (rect.bottom < box.top - margin || rect.top > box.bottom + margin) continue;
      const [from, to] = span(hole);
      const top = Math.max(0, box.top - margin - rect.top);
      const bottom = Math.min(height, box.bottom + margin - rect.top);
      const first = this.levels.lineAt(from, to, top / height);
      const last = Math.min(to, this.levels.lineAt(from, to, bottom / height) + 1, first + this.windowSize - 1);
      wanted.push([first, last]);
    }
    return wanted;
  }

  // Make lines `from`..`to` rows of the page; resolves once they are (true), or false when a request
  // failed (onError has said so). A load made by scrolling (`round`: fillView's) gives up once the
  // reader has scrolled on (its request is cancelled, or a newer round has begun while it waited
  // for another load into the same hole: such waiters queued up by the dozen in a fast scroll).
  async ensure(from, to, round = null) {
    from = Math.max(1, from);
    to = Math.min(this.total, to);
    for (let guard = 0; guard < 50; guard += 1) {
      const hole = this.holes().find((each) => span(each)[0] <= to && span(each)[1] >= from);
      if (!hole) return true;
      if (hole.loading) {
        await hole.loading;
        if (round !== null && round !== this.round) return false;
        continue;
      }
      const first = Math.max(from, span(hole)[0]);
      const last = Math.min(to, span(hole)[1], first + this.limit - 1);
      hole.loading = this.fetchWindow(first, last, round !== null);
      const filled = await hole.loading;
      // Filled, the hole has left the page; failed or cancelled, it can be asked for again, and
      // joins the holes that came beside it meanwhile.
      hole.loading = null;
      if (!filled) {
        if (hole.isConnected) this.merge(hole);
        return false;
      }
    }
    return !this.holes().some((each) => span(each)[0] <= to && span(each)[1] >= from);
  }

  // Loads made by scrolling are kept in this.loads, so that cancelLeftBehind can call them off.
  async fetchWindow(from, to, scrolled) {
    const load = { from, to, controller: new AbortController() };
    if (scrolled) this.loads.add(load);
    try {
      const ask = () => getJSON(withQuery(this.url, { from, to }), { signal: load.controller.signal });
      const answer = await retrying(ask, { attempts: 3, first: 500 });
      this.total = Math.max(this.total, answer.total || 0);
      await this.place(from, to, answer.html || "");
      return true;
    } catch (error) {
      if (error.name !== "AbortError") this.onError(error);
      return false;
    } finally {
      this.loads.delete(load);
    }
  }

  // Windows that arrive wait for the next frame and go in together, with one look at where the
  // reader is and one correction of the scroll for all of them: filled one by one as answers came,
  // a fast scroll made the browser lay the list out twice per answer, several times a frame. A
  // hidden page draws no frames: there they go in at once.
  place(from, to, html) {
    this.arrived.push([from, to, html]);
    if (document.hidden) return Promise.resolve(this.fillArrived());
    if (!this.placing) {
      this.placing = new Promise((resolve) => {
        window.requestAnimationFrame(() => resolve(this.fillArrived()));
      });
    }
    return this.placing;
  }

  fillArrived() {
    const batch = this.arrived;
    this.arrived = [];
    this.placing = null;
    if (!batch.length) return;
    const anchor = this.anchor();
    batch.forEach(([from, to, html]) => this.fill(from, to, html));
    this.restore(anchor);
    this.onChange();
  }

  // Put the rows of `html` (lines from..to) in place of the holes' part that stood for them.
  fill(from, to, html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    const rows = new Map();
    template.content.querySelectorAll(".log-line").forEach((row) => rows.set(numberOf(row), row));
    this.adopt(template.content);
    for (const hole of this.holes()) {
      const [holeFrom, holeTo] = span(hole);
      if (holeTo < from || holeFrom > to) continue;
      const first = Math.max(from, holeFrom);
      const last = Math.min(to, holeTo);
      const part = document.createDocumentFragment();
      if (first > holeFrom) part.append(this.hole(holeFrom, first - 1));
      for (let number = first; number <= last; number += 1) {
        const row = rows.get(number);
        if (row) part.append(row);
      }
      if (last < holeTo) part.append(this.hole(last + 1, holeTo));
      hole.replaceWith(part);
    }
  }

  // Rows far from the view (and from the line `keepNumber`) become holes again.
  trim(keepNumber) {
    if (this.loaded <= this.maxRows) return;
    const anchor = this.anchor();
    const [first, last] = this.inView(anchor);
    const low = first - this.keep;
    const high = last + this.keep;
    const far = (row) => {
      const number = numberOf(row);
      return (number < low || number > high) && number !== keepNumber && !row.contains(document.activeElement);
    };
    // Every run's exact height is read before any is replaced: reading after a change would make
    // the browser lay the list out again for each run.
    const runs = [];
    let run = [];
    const close = () => {
      if (!run.length) return;
      // From the first row shown to the last: hidden rows (a level filtered out, a folded group)
      // have no box.
      let first = 0;
      let last = run.length - 1;
      while (first <= last && !run[first].offsetParent) first += 1;
      while (last > first && !run[last].offsetParent) last -= 1;
      const height =
        first > last ? 0 : run[last].getBoundingClientRect().bottom - run[first].getBoundingClientRect().top;
      runs.push({ rows: run, height: Math.max(0, height) });
      run = [];
    };
    for (const item of this.list.children) {
      if (item.classList.contains("log-line") && far(item)) run.push(item);
      else close();
    }
    close();
    for (const { rows, height } of runs) {
      const hole = this.hole(numberOf(rows[0]), numberOf(rows[rows.length - 1]), height);
      rows[0].before(hole);
      // A run is consecutive siblings: removed as one range, not row by row (a removal each).
      const range = document.createRange();
      range.setStartBefore(rows[0]);
      range.setEndAfter(rows[rows.length - 1]);
      range.deleteContents();
      this.merge(hole);
    }
    this.restore(anchor);
    this.onTrim();
  }

  // --- live lines ----------------------------------------------------------------------------------------

  // New rows (already adopted) at the end of the log: appended when the end is in the page, else
  // the last hole grows to stand for them.
  append(rows) {
    for (const row of rows) {
      const number = numberOf(row);
      const last = this.list.lastElementChild;
      const lastNumber = last ? (last.classList.contains("log-hole") ? span(last)[1] : numberOf(last)) : 0;
      if (number <= lastNumber) continue;
      this.total = Math.max(this.total, number);
      if (number > lastNumber + 1) this.list.append(this.hole(lastNumber + 1, number - 1));
      const tail = this.list.lastElementChild;
      if (tail && tail.classList.contains("log-hole") && !tail.loading) {
        tail.dataset.to = number;
        this.size(tail, Number(tail.dataset.height) + this.shown(number, number) * this.rowHeight);
      } else {
        this.list.append(row);
      }
    }
    this.onChange();
  }
}

export function span(hole) {
  return [Number(hole.dataset.from), Number(hole.dataset.to)];
}
