// Levels: how many lines of the levels the reader filtered out a range of the log holds, so that a
// hole is as tall as the lines it stands for that are still shown. Two sources: every row the page
// has seen (its level, by line number), and the `levels` endpoint's counts per block of line
// numbers over the whole stored log ({total, block, counts: {level: [lines in each block]}}), asked
// for once, when a level is first hidden. A range's count is exact when each block it cuts through
// is either wholly in it or seen line by line on one side of the cut; otherwise the block's
// unseen lines share its count in proportion.
import { getJSON } from "./net.js";

export class Levels {
  constructor({ url }) {
    this.url = url;
    this.names = [""]; // a level's code is its index here; 0: not seen
    this.seen = new Uint8Array(1024); // by line number
    this.hidden = new Set();
    this.answer = null; // the endpoint's, once read
    this.asking = null;
    this.prefix = null; // hidden lines before each block, for the hidden set of the moment
  }

  // A row has been in the page: its level is known from now on.
  see(number, name) {
    let code = this.names.indexOf(name);
    if (code === -1) {
      if (this.names.length > 255) return; // more names than a log has: left unseen
      code = this.names.push(name) - 1;
    }
    if (number >= this.seen.length) {
      const grown = new Uint8Array(Math.max(number + 1, this.seen.length * 2));
      grown.set(this.seen);
      this.seen = grown;
    }
    this.seen[number] = code;
  }

  // Hide or show a level's lines; resolves once the counts needed to size the holes are in (they
  // are asked for at the first level hidden; a failure leaves the estimate to the seen rows).
  async set(name, hidden) {
    if (hidden) this.hidden.add(name);
    else this.hidden.delete(name);
    this.prefix = null;
    if (!this.hidden.size || this.answer || !this.url) return;
    if (!this.asking) {
      this.asking = getJSON(this.url).then(
        (answer) => {
          this.answer = answer;
          this.prefix = null;
        },
        () => {
          this.asking = null; // asked again at the next change
        },
      );
    }
    await this.asking;
  }

  // How many of the lines from..to are of a hidden level.
  hiddenIn(from, to) {
    if (!this.hidden.size || to < from) return 0;
    const counted = this.answer ? this.answer.total : 0;
    let total = this.seenHidden(Math.max(from, counted + 1), to); // past the counts: seen rows only
    const last = Math.min(to, counted);
    if (from > last) return total;
    const size = this.answer.block;
    const first = Math.floor((from - 1) / size);
    const end = Math.floor((last - 1) / size);
    total += this.inBlock(first, from, Math.min(last, (first + 1) * size));
    if (end > first) {
      const prefix = this.hiddenBefore();
      total += prefix[end] - prefix[first + 1] + this.inBlock(end, end * size + 1, last);
    }
    return total;
  }

  // Where a share (0..1) of the way through the shown lines of from..to falls: the line number, as
  // the counts place it (evenly, with no level hidden). A hole maps the view's pixels to its lines
  // by it, so that a window is asked for where the shown lines are, not evenly along the log.
  lineAt(from, to, share) {
    const lines = to - from + 1;
    const even = Math.min(to, from + Math.floor(share * lines));
    if (!this.hidden.size || !this.answer) return even;
    const shown = lines - this.hiddenIn(from, to);
    if (shown <= 0) return even;
    let want = share * shown;
    const size = this.answer.block;
    for (let at = from; at <= to; ) {
      const stop = at > this.answer.total ? to : Math.min(to, Math.ceil(at / size) * size);
      const piece = stop - at + 1 - this.hiddenIn(at, stop);
      if (piece > 0 && piece >= want) return Math.min(stop, at + Math.floor((want / piece) * (stop - at + 1)));
      want -= piece;
      at = stop + 1;
    }
    return to;
  }

  // The inverse: the share of the shown lines of from..to that come before line `number`.
  shareBefore(from, to, number) {
    const lines = to - from + 1;
    if (!this.hidden.size) return (number - from) / lines;
    const shown = lines - this.hiddenIn(from, to);
    if (shown <= 0) return 0;
    return (number - from - this.hiddenIn(from, number - 1)) / shown;
  }

  // Hidden lines of block `index` from `from` to `to` (inside it).
  inBlock(index, from, to) {
    const size = this.answer.block;
    const start = index * size + 1;
    const stop = Math.min((index + 1) * size, this.answer.total);
    const prefix = this.hiddenBefore();
    const count = prefix[index + 1] - prefix[index];
    if (from === start && to === stop) return count;
    const inside = this.tally(from, to);
    if (!inside.unseen) return inside.hidden;
    const before = this.tally(start, from - 1);
    const after = this.tally(to + 1, stop);
    const unseen = inside.unseen + before.unseen + after.unseen;
    const rest = Math.max(0, count - inside.hidden - before.hidden - after.hidden);
    return inside.hidden + (rest * inside.unseen) / unseen;
  }

  seenHidden(from, to) {
    return from > to ? 0 : this.tally(from, to).hidden;
  }

  // Seen lines of a hidden level, and lines not seen, from..to.
  tally(from, to) {
    let hidden = 0;
    let unseen = 0;
    const codes = this.hiddenCodes();
    for (let number = from; number <= to; number += 1) {
      const code = number < this.seen.length ? this.seen[number] : 0;
      if (!code) unseen += 1;
      else if (codes[code]) hidden += 1;
    }
    return { hidden, unseen };
  }

  hiddenCodes() {
    return this.names.map((name) => this.hidden.has(name));
  }

  // prefix[k]: the hidden lines in the blocks before block k.
  hiddenBefore() {
    if (this.prefix) return this.prefix;
    const counts = this.answer.counts || {};
    const blocks = Math.ceil(this.answer.total / this.answer.block);
    const prefix = new Float64Array(blocks + 1);
    for (let index = 0; index < blocks; index += 1) {
      let hidden = 0;
      for (const name of this.hidden) hidden += counts[name] ? counts[name][index] || 0 : 0;
      prefix[index + 1] = prefix[index] + hidden;
    }
    this.prefix = prefix;
    return prefix;
  }
}
