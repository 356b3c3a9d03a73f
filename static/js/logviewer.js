// The job page's log viewer: follow mode, line links, find, level filter, errors, live lines.
// The page works without this file (lines, line links, raw view, download and a Refresh link are
// plain HTML); CSP forbids inline scripts, so everything is wired here from data attributes of
// tracking/_log_viewer.html:
//
//   [data-log-viewer]            data-stream-url  Server-Sent Events of the job (below)
//                                data-live-url, data-live-job  the browser's shared stream and
//                                                 this job's key in it (static/js/livestreams.js)
//                                data-updates-url the polling fallback: GET ?after=<line id>
//                                data-lines-url   a hidden range: GET ?after=<id>&before=<id>
//                                data-last-id     the id of the newest line rendered
//                                data-live        "true" while more lines can come
//   .log-line#L<n>[data-log-id]  one line; n is its number in the job, data-log-id its cursor
//   .log-gap[data-after][data-before][data-count]  lines the server left out of a long log
//
// The stream (tracking/views/jobs.py), every data a JSON object:
//   line    id = the last line's id; {first, last, count, html}: html is the lines' <li> elements as
//           rendered by tracking/_log_viewer.html#log_rows. A line already shown is dropped here.
//   status  {status, finished, html: {element id: outer HTML}}: each replaces the element of that id.
//   done    {status}: the last event, nothing follows.
// The polling fallback answers {after, more, events: [{event, id, data}]} with the same events;
// a hidden range answers {more, count, last, html}.
//
// Preferences (wrap, timestamps) persist in localStorage. Colours a class cannot name (256-colour
// and truecolor) arrive as data-fg/data-bg and are painted here through the CSSOM, which CSP
// allows where style attributes are not.
(function () {
  "use strict";

  var viewer = document.querySelector("[data-log-viewer]");
  if (!viewer) return;

  var POLL_MS = 2000;
  var LONG = 5000; // loaded lines past which only the lines in view are laid out
  var HEX = /^#[0-9a-f]{6}$/;
  var HASH = /^#L(\d+)(?:-L(\d+))?$/;
  var PREFS = { wrap: "logviewer.wrap", timestamps: "logviewer.timestamps" };

  var scroller = viewer.querySelector(".logviewer-scroll");
  var list = viewer.querySelector(".logviewer-lines");
  var toolbar = viewer.querySelector(".logviewer-toolbar");
  var newButton = viewer.querySelector(".logviewer-new");
  var liveStatus = viewer.querySelector(".logviewer-live");
  var findInput = viewer.querySelector(".logviewer-find input");
  var findCount = viewer.querySelector(".logviewer-find-count");
  var errorCount = viewer.querySelector(".logviewer-error-count");
  var lineCount = viewer.querySelector(".logviewer-count");

  var lastId = Number(viewer.dataset.lastId) || 0;
  var finished = viewer.dataset.live !== "true";
  var follow = false;
  var pendingNew = 0;
  var anchor = null; // the line a shift-click extends a range from
  var position = 0; // the line "next error" and find continue from
  var hiddenLevels = [];
  var matches = [];
  var current = -1;

  function pressed(name, on) {
    var button = viewer.querySelector('[data-toggle="' + name + '"]');
    if (button) button.setAttribute("aria-pressed", on ? "true" : "false");
  }

  function say(sentence) {
    if (liveStatus) liveStatus.textContent = sentence;
  }

  // The connection to the dashboard is live, but the lines only move while the poller runs: when the
  // page carries its "paused" notice (includes/tracker.html), that notice's sentence is said instead.
  function sayLive(sentence) {
    var paused = document.getElementById("notice-tracker");
    say(paused ? paused.dataset.sentence : sentence);
  }

  // A banner about the job's state ("Job #29 (deploy) queued.", a message tagged job-status-pending)
  // goes once the job's status has moved on, so it never contradicts the badge.
  function dropStaleBanners() {
    var badge = document.getElementById("job-status");
    if (!badge) return;
    document.querySelectorAll('.messages [data-describes^="job-status-"]').forEach(function (banner) {
      if (banner.dataset.describes !== "job-status-" + badge.dataset.status) banner.remove();
    });
  }

  // --- preferences --------------------------------------------------------------------------------

  function readPref(name, fallback) {
    try {
      var value = localStorage.getItem(PREFS[name]);
      return value === null ? fallback : value === "1";
    } catch (error) {
      return fallback; // storage blocked: the defaults apply for this visit
    }
  }

  function setPref(name, on, save) {
    viewer.classList.toggle("logviewer-no-" + name, !on);
    pressed(name, on);
    if (!save) return;
    try {
      localStorage.setItem(PREFS[name], on ? "1" : "0");
    } catch (error) {
      // Storage blocked: the choice holds until the page is left.
    }
  }

  // --- lines --------------------------------------------------------------------------------------

  function numberOf(line) {
    return parseInt(line.id.slice(1), 10);
  }

  function paint(root) {
    root.querySelectorAll("[data-fg],[data-bg]").forEach(function (span) {
      if (HEX.test(span.dataset.fg || "")) span.style.color = span.dataset.fg;
      if (HEX.test(span.dataset.bg || "")) span.style.backgroundColor = span.dataset.bg;
    });
  }

  function parse(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  function counts() {
    var total = list.querySelectorAll(".log-line").length;
    var hidden = 0;
    list.querySelectorAll(".log-gap").forEach(function (gap) {
      hidden += Number(gap.dataset.count) || 0;
    });
    if (lineCount) {
      lineCount.textContent =
        (total + hidden).toLocaleString() + " lines" + (hidden ? ", " + hidden.toLocaleString() + " not loaded" : "");
    }
    if (errorCount) {
      var errors = list.querySelectorAll(".log-error").length;
      var text = errors === 1 ? "1 error" : (errors ? errors.toLocaleString() : "No") + " errors";
      errorCount.textContent = hidden ? text + " in the loaded lines" : text;
    }
    viewer.classList.toggle("logviewer-long", total > LONG);
    viewer.style.setProperty("--log-digits", String(total + hidden).length);
    return hidden;
  }

  function atEnd() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 24;
  }

  function toEnd() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  function setFollow(on) {
    follow = on;
    pressed("follow", on);
    if (on) {
      pendingNew = 0;
      if (newButton) newButton.hidden = true;
    }
  }

  // Lines of the live stream: appended, deduplicated by id, followed or announced.
  function append(html) {
    // Read before the new rows change the geometry: a reader who just scrolled away (whose scroll
    // event has not run yet) must not be pulled back to the end.
    if (follow && !atEnd()) setFollow(false);
    var rows = parse(html);
    var added = 0;
    Array.prototype.slice.call(rows.querySelectorAll(".log-line")).forEach(function (line) {
      var id = Number(line.dataset.logId);
      if (!id || id <= lastId || document.getElementById(line.id)) {
        line.remove();
        return;
      }
      lastId = id;
      added += 1;
    });
    if (!added) return;
    paint(rows);
    var fresh = Array.prototype.slice.call(rows.querySelectorAll(".log-line"));
    list.appendChild(rows);
    var empty = document.getElementById("no-logs");
    if (empty) empty.remove();
    counts();
    extendFind(fresh);
    if (follow) {
      toEnd();
    } else if (newButton) {
      pendingNew += added;
      newButton.textContent =
        pendingNew.toLocaleString() + (pendingNew === 1 ? " new line" : " new lines") + ", jump to the end";
      newButton.hidden = false;
    }
  }

  // --- hidden ranges ------------------------------------------------------------------------------

  function gapLabel(gap) {
    var text = gap.querySelector(".log-gap-text");
    var count = Number(gap.dataset.count);
    if (text) text.textContent = count.toLocaleString() + (count === 1 ? " line" : " lines") + " not shown here.";
  }

  // Fetch the next chunk of a gap and put it in place; resolves to false when nothing came.
  function loadChunk(gap) {
    if (gap.dataset.loading) return gap.loading;
    var url =
      viewer.dataset.linesUrl +
      "?after=" + encodeURIComponent(gap.dataset.after) +
      "&before=" + encodeURIComponent(gap.dataset.before);
    gap.dataset.loading = "1";
    gap.classList.add("logviewer-loading");
    gap.loading = fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (range) {
        var rows = parse(range.html || "");
        var lines = rows.querySelectorAll(".log-line");
        if (!lines.length) {
          gap.remove();
          counts();
          return false;
        }
        gap.dataset.after = range.last;
        gap.dataset.count = range.more ? Math.max(1, Number(gap.dataset.count) - lines.length) : 0;
        paint(rows);
        var fresh = Array.prototype.slice.call(lines);
        var keep = scroller.scrollHeight - scroller.scrollTop; // what the reader sees stays put
        var below = gap.offsetTop < scroller.scrollTop;
        gap.parentNode.insertBefore(rows, gap);
        if (below) scroller.scrollTop = scroller.scrollHeight - keep;
        if (Number(gap.dataset.count) === 0) gap.remove();
        else gapLabel(gap);
        counts();
        extendFind(fresh);
        return true;
      })
      .catch(function () {
        say("Those lines could not be loaded. Try again, or read them in the raw log.");
        return false;
      })
      .finally(function () {
        delete gap.dataset.loading;
        gap.classList.remove("logviewer-loading");
      });
    return gap.loading;
  }

  // Load hidden lines until `done()` holds or nothing is hidden; resolves when finished.
  function loadUntil(done) {
    var gap = list.querySelector(".log-gap");
    if (!gap || done()) return Promise.resolve();
    return loadChunk(gap).then(function (more) {
      return more ? loadUntil(done) : undefined;
    });
  }

  function gapHolding(number) {
    var gap = list.querySelector(".log-gap");
    if (!gap) return null;
    var before = gap.previousElementSibling;
    var first = before && before.classList.contains("log-line") ? numberOf(before) + 1 : 1;
    return number >= first && number < first + Number(gap.dataset.count) ? gap : null;
  }

  // --- line links and ranges ----------------------------------------------------------------------

  function select(from, to, scroll) {
    list.querySelectorAll(".log-selected").forEach(function (line) {
      line.classList.remove("log-selected");
    });
    var low = Math.min(from, to);
    var high = Math.max(from, to);
    for (var number = low; number <= high && number - low < 20000; number += 1) {
      var line = document.getElementById("L" + number);
      if (line) line.classList.add("log-selected");
    }
    position = low;
    var first = document.getElementById("L" + low);
    if (scroll && first) {
      setFollow(false);
      first.scrollIntoView({ block: "center" });
    }
    return Boolean(first);
  }

  function arrive() {
    var match = HASH.exec(window.location.hash);
    if (!match) return false;
    var from = Number(match[1]);
    var to = Number(match[2] || match[1]);
    anchor = from;
    setFollow(false);
    if (select(from, to, true)) return true;
    if (gapHolding(from)) {
      say("Loading the lines up to " + from.toLocaleString() + "…");
      loadUntil(function () {
        return Boolean(document.getElementById("L" + from) && document.getElementById("L" + to));
      }).then(function () {
        say(select(from, to, true) ? "" : "Line " + from.toLocaleString() + " is not in this log.");
      });
    } else {
      say("Line " + from.toLocaleString() + " is not in this log" + (finished ? "." : " yet."));
    }
    return true;
  }

  // --- find ---------------------------------------------------------------------------------------

  var highlights = window.CSS && CSS.highlights && window.Highlight ? new Highlight() : null;
  if (highlights) CSS.highlights.set("log-find", highlights);

  function shown(line) {
    for (var index = 0; index < hiddenLevels.length; index += 1) {
      if (line.classList.contains("log-" + hiddenLevels[index])) return false;
    }
    return true;
  }

  function mark(line, query) {
    line.classList.add("log-match");
    matches.push(line);
    if (!highlights || matches.length > 2000) return;
    var walker = document.createTreeWalker(line.querySelector(".log-message"), NodeFilter.SHOW_TEXT);
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      var text = node.data.toLowerCase();
      for (var at = text.indexOf(query); at !== -1; at = text.indexOf(query, at + query.length)) {
        var range = new Range();
        range.setStart(node, at);
        range.setEnd(node, at + query.length);
        highlights.add(range);
      }
    }
  }

  function findLabel() {
    if (!findCount) return;
    var query = findInput.value.trim();
    var hidden = counts();
    if (!query) {
      findCount.textContent = "";
      return;
    }
    var total = matches.length.toLocaleString();
    var text = !matches.length ? "No match" : current === -1 ? total + (matches.length === 1 ? " match" : " matches") : current + 1 + " of " + total;
    findCount.textContent = hidden ? text + " in loaded lines" : text;
  }

  function runFind() {
    matches.forEach(function (line) {
      line.classList.remove("log-match", "log-match-current");
    });
    matches = [];
    current = -1;
    if (highlights) highlights.clear();
    var query = findInput.value.trim().toLowerCase();
    if (query) {
      list.querySelectorAll(".log-line").forEach(function (line) {
        var message = line.querySelector(".log-message");
        if (message && shown(line) && message.textContent.toLowerCase().indexOf(query) !== -1) mark(line, query);
      });
    }
    findLabel();
  }

  // New lines (live or loaded) join the matches in document order without a full search.
  function extendFind(lines) {
    var query = findInput ? findInput.value.trim().toLowerCase() : "";
    if (!query) return;
    var before = matches.length;
    lines.forEach(function (line) {
      var message = line.querySelector(".log-message");
      if (message && shown(line) && message.textContent.toLowerCase().indexOf(query) !== -1) mark(line, query);
    });
    if (matches.length !== before) {
      matches.sort(function (a, b) {
        return numberOf(a) - numberOf(b);
      });
      var active = list.querySelector(".log-match-current");
      current = active ? matches.indexOf(active) : -1;
    }
    findLabel();
  }

  function step(direction) {
    if (!matches.length) {
      findLabel();
      return;
    }
    if (current === -1) {
      // Start from where the reader is: the first match after (or, backwards, before) it.
      var start = here();
      current = direction > 0 ? -1 : matches.length;
      for (var index = 0; index < matches.length; index += 1) {
        if (numberOf(matches[index]) >= start) {
          current = direction > 0 ? index - 1 : index;
          break;
        }
      }
    } else {
      matches[current].classList.remove("log-match-current");
    }
    current = (current + direction + matches.length) % matches.length;
    var line = matches[current];
    line.classList.add("log-match-current");
    position = numberOf(line);
    setFollow(false);
    line.scrollIntoView({ block: "center" });
    findLabel();
  }

  // Where the reader is: the line last jumped to while it is still in view, else the first line
  // in view (they scrolled away from it).
  function here() {
    var box = scroller.getBoundingClientRect();
    var last = document.getElementById("L" + position);
    if (last) {
      var rect = last.getBoundingClientRect();
      if (rect.bottom > box.top && rect.top < box.bottom) return position;
    }
    var element = document.elementFromPoint(box.left + box.width / 2, box.top + 4);
    var line = element && element.closest ? element.closest(".log-line") : null;
    return line ? numberOf(line) : position;
  }

  // --- errors and levels --------------------------------------------------------------------------

  function errorAfter(number) {
    var errors = list.querySelectorAll(".log-error");
    for (var index = 0; index < errors.length; index += 1) {
      if (numberOf(errors[index]) > number && shown(errors[index])) return errors[index];
    }
    return null;
  }

  function goToError(from) {
    var found = errorAfter(from);
    var ready = found ? Promise.resolve() : loadUntil(function () {
      found = errorAfter(from);
      return Boolean(found);
    });
    if (!found && list.querySelector(".log-gap")) say("Looking for errors in the hidden lines…");
    ready.then(function () {
      found = found || errorAfter(from);
      if (!found) {
        say(from ? "No error after line " + from.toLocaleString() + "." : "No error in this log.");
        return;
      }
      say("");
      var number = numberOf(found);
      history.replaceState(null, "", "#L" + number);
      anchor = number;
      select(number, number, true);
    });
  }

  function filterLevels() {
    hiddenLevels = [];
    viewer.querySelectorAll("input[data-level]").forEach(function (box) {
      viewer.classList.toggle("logviewer-hide-" + box.dataset.level, !box.checked);
      if (!box.checked) hiddenLevels.push(box.dataset.level);
    });
    runFind();
  }

  // --- live lines ---------------------------------------------------------------------------------

  // A status event: each element replaces the one with its id (badge, timeline, notices, state).
  function swap(parts) {
    var wasPaused = Boolean(document.getElementById("notice-tracker"));
    Object.keys(parts || {}).forEach(function (id) {
      var old = document.getElementById(id);
      var element = parse(parts[id]).firstElementChild;
      if (!old || !element || element.id !== id) return;
      old.replaceWith(element);
      if (window.htmx) window.htmx.process(element);
    });
    dropStaleBanners();
    var paused = document.getElementById("notice-tracker");
    if (paused) say(paused.dataset.sentence);
    else if (wasPaused && !finished) say("Live again: the tracker is running.");
  }

  function finish(data) {
    finished = true;
    viewer.dataset.live = "false";
    var status = data && data.status;
    say(status === "completed" || status === "failed" ? "The job " + status + "." : "No more lines will come.");
  }

  // One event of the stream or of the fallback; true when it was the last.
  function handle(name, data) {
    if (name === "line") append(data.html || "");
    else if (name === "status") swap(data.html);
    else if (name === "done") finish(data);
    return name === "done";
  }

  function poll(delay) {
    if (finished) return;
    window.setTimeout(function () {
      var url = viewer.dataset.updatesUrl;
      fetch(url + (url.indexOf("?") === -1 ? "?" : "&") + "after=" + lastId, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      }).then(
        function (response) {
          if (response.status === 401) {
            // The session ended (signed out here, or ended from Settings > Security elsewhere).
            say("Live updates stopped: you are signed out. Reload the page to sign in again.");
            return undefined;
          }
          if (response.status === 403 || response.status === 404) {
            // Access was lost (removed from the team): retrying cannot help.
            say("Live updates stopped: this job's log is no longer available to you. Reload the page to see why.");
            return undefined;
          }
          if (!response.ok) {
            say("Live updates paused: the dashboard answered " + response.status + ". Retrying…");
            poll(Math.min(delay * 2 || POLL_MS, 30000));
            return undefined;
          }
          return response.json().then(function (answer) {
            var done = false;
            (answer.events || []).forEach(function (event) {
              done = handle(event.event, event.data || {}) || done;
            });
            if (done) return;
            sayLive("Live (checking every few seconds).");
            poll(answer.more ? 0 : POLL_MS);
          });
        },
        function () {
          say("Live updates paused: the dashboard cannot be reached. Retrying…");
          poll(Math.min(delay * 2 || POLL_MS, 30000));
        },
      ).catch(function () {
        say("Live updates paused: the dashboard's answer could not be read. Retrying…");
        poll(Math.min(delay * 2 || POLL_MS, 30000));
      });
    }, delay);
  }

  // The browser's one shared stream (static/js/livestreams.js): a stream per tab would exhaust the
  // browser's six connections to the dashboard at the seventh tab.
  function share() {
    window.LiveStreams.follow(viewer.dataset.liveUrl, {
      job: viewer.dataset.liveJob,
      updatesUrl: viewer.dataset.updatesUrl,
      cursor: function () {
        return lastId;
      },
      handle: handle,
      onState: function (state) {
        if (finished) return;
        if (state === "live") say("Live.");
        else if (state === "reconnecting") say("Reconnecting…");
        else say("Live updates stopped: this job's log is no longer available to you. Reload the page to see why.");
      },
      fallBack: function () {
        say("Live (checking every few seconds).");
        poll(0);
      },
    });
  }

  // The page's own stream, where the shared one cannot work (no Web Locks or BroadcastChannel).
  // It is reopened by hand rather than by EventSource's own retry, so that it resumes from the
  // newest line shown (its URL carries the cursor). A stream that never opens (a proxy that
  // buffers, a server that cannot stream) gives way to polling.
  function connect(retries) {
    if (finished || !viewer.dataset.updatesUrl) return;
    if (window.LiveStreams && viewer.dataset.liveUrl && viewer.dataset.liveJob) {
      share();
      return;
    }
    if (!window.EventSource || !viewer.dataset.streamUrl) {
      poll(0);
      return;
    }
    var url = viewer.dataset.streamUrl;
    var source = new EventSource(url + (url.indexOf("?") === -1 ? "?" : "&") + "after=" + lastId);
    var opened = false;
    var giveUp = window.setTimeout(fallBack, 6000);

    function fallBack() {
      source.close();
      sayLive("Live (checking every few seconds).");
      poll(0);
    }

    source.addEventListener("open", function () {
      opened = true;
      window.clearTimeout(giveUp);
      sayLive("Live.");
    });
    ["line", "status", "done"].forEach(function (name) {
      source.addEventListener(name, function (event) {
        var data;
        try {
          data = JSON.parse(event.data);
        } catch (error) {
          return; // a garbled event: the next one, or the fallback, carries on from the cursor
        }
        if (handle(name, data)) source.close();
      });
    });
    source.addEventListener("error", function () {
      // CLOSED: the server refused the stream (a 204 from a server that cannot stream, an error
      // page); CONNECTING: the connection dropped and may come back.
      var refused = source.readyState === EventSource.CLOSED;
      source.close();
      window.clearTimeout(giveUp);
      if (finished) return;
      if (!opened && (refused || retries >= 1)) {
        fallBack();
        return;
      }
      say("Reconnecting…");
      window.setTimeout(function () {
        connect(opened ? 0 : retries + 1);
      }, 2000);
    });
  }

  // --- wiring -------------------------------------------------------------------------------------

  viewer.classList.add("logviewer-js");
  if (toolbar) toolbar.hidden = false;
  viewer.querySelectorAll("[data-js-only]").forEach(function (element) {
    element.hidden = false;
  });
  list.querySelectorAll(".log-gap").forEach(gapLabel);
  setPref("wrap", readPref("wrap", true), false);
  setPref("timestamps", readPref("timestamps", true), false);
  paint(list);
  counts();

  viewer.addEventListener("click", function (event) {
    var target = event.target;
    var number = target.closest("a.log-number");
    if (number) {
      event.preventDefault();
      var picked = numberOf(number.parentNode);
      var from = event.shiftKey && anchor ? anchor : picked;
      if (!event.shiftKey || !anchor) anchor = picked;
      var low = Math.min(from, picked);
      var high = Math.max(from, picked);
      history.replaceState(null, "", low === high ? "#L" + low : "#L" + low + "-L" + high);
      setFollow(false);
      select(low, high, false);
      return;
    }
    var toggle = target.closest("[data-toggle]");
    if (toggle) {
      var name = toggle.dataset.toggle;
      var on = toggle.getAttribute("aria-pressed") !== "true";
      if (name === "follow") {
        setFollow(on);
        if (on) toEnd();
      } else {
        setPref(name, on, true);
      }
      return;
    }
    if (target.closest(".logviewer-new")) {
      setFollow(true);
      toEnd();
      return;
    }
    if (target.closest("[data-find-step]")) {
      step(Number(target.closest("[data-find-step]").dataset.findStep));
      return;
    }
    if (target.closest("[data-error]")) {
      goToError(target.closest("[data-error]").dataset.error === "first" ? 0 : here());
      return;
    }
    var gap = target.closest(".log-gap");
    if (gap && target.closest("[data-load]")) {
      loadChunk(gap);
    } else if (gap && target.closest("[data-load-all]")) {
      say("Loading every hidden line…");
      loadUntil(function () {
        return false;
      }).then(function () {
        say("");
        runFind();
      });
    }
  });

  // A shift-click on a line number extends the range; it must not also select the page's text.
  list.addEventListener("mousedown", function (event) {
    if (event.shiftKey && event.target.closest("a.log-number")) event.preventDefault();
  });

  scroller.addEventListener(
    "scroll",
    function () {
      var end = atEnd();
      if (end !== follow) setFollow(end);
    },
    { passive: true },
  );

  if (findInput) {
    var timer = null;
    findInput.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(runFind, 150);
    });
    findInput.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        window.clearTimeout(timer);
        if (findInput.value.trim().toLowerCase() && !matches.length) runFind();
        step(event.shiftKey ? -1 : 1);
      } else if (event.key === "Escape") {
        findInput.value = "";
        runFind();
      }
    });
    findInput.form.addEventListener("submit", function (event) {
      event.preventDefault();
    });
  }

  viewer.querySelectorAll("input[data-level]").forEach(function (box) {
    box.addEventListener("change", filterLevels);
  });

  window.addEventListener("hashchange", arrive);

  if (!arrive() && !finished) {
    setFollow(true);
    toEnd();
  }
  dropStaleBanners(); // the job may have moved on between the action and this page
  connect(0);
})();
