// One live connection per browser, shared by all its tabs (docs/live-streams.md).
//
// A browser opens at most six HTTP/1.1 connections to a host: with one EventSource per job page, the
// seventh page never loads, and no other page of the dashboard either. So the tabs elect a leader
// with the Web Locks API (whoever holds the lock; when its tab closes, the next waiting tab gets it)
// and only the leader holds an EventSource, to /live/events, for the jobs every tab follows. The
// tabs talk over a BroadcastChannel:
//
//   {type: "sub", tab, job, cursor}    a tab follows a job from that line id on
//   {type: "unsub", tab, job}          it stopped (the job is done, the tab is hidden, or closing)
//   {type: "census"}                   a new leader asks every tab to send its "sub"s again
//   {type: "event", job, name, data}   an event of the shared stream, passed on by the leader
//   {type: "beat", every}              the stream is open and nothing is new (every `every` s)
//   {type: "state", state, jobs}       the stream is "connecting" or "live" for these jobs,
//                                      "reconnecting", or "unavailable" (the server cannot
//                                      stream: the tabs poll)
//
// The leader keeps each job's cursor (the newest line id it passed on) and reopens the stream with
// them when a tab adds a job, so nothing is lost or sent twice. A tab that starts following a job
// (first, or back from being hidden) reads what it missed from the job's `updates` endpoint, holding
// the events that arrive meanwhile, then plays those; a line it already shows is dropped by id.
//
// The leader's own tab gets every message too (post() delivers it locally as well), so it is also an
// ordinary follower. A tab following a job expects to hear from the leader (an event, a state, a
// beat) at least every few beats; a leader gone silent (a tab the browser froze still holds the
// lock, and no other tab can take over) leaves it polling on its own. Without Web Locks,
// BroadcastChannel or EventSource, window.LiveStreams is null and the page uses its own stream or
// polling (static/js/logviewer/stream.js).
(function () {
  "use strict";

  window.LiveStreams = null;
  if (!window.EventSource || !window.BroadcastChannel || !(navigator.locks && navigator.locks.request)) return;

  var LOCK = "nexus-live-leader";
  var RETRY_MS = 2000; // before reopening a dropped stream
  var OPEN_MS = 10000; // a stream that has not opened by then never will (a buffering proxy)
  var GATHER_MS = 50; // tabs opened together join one reopen, not one each
  var SILENT_MS = 20000; // a tab that no leader answers by then polls on its own
  var PAUSE_MS = 10000; // a tab hidden this long stops following until it is shown again
  var MISSED_BEATS = 3; // a following tab that hears nothing from the leader this many beats polls
  var beatMs = 15000; // the stream's beat, until it says its own

  var tab = Math.random().toString(36).slice(2) + Date.now().toString(36);
  var channel = new BroadcastChannel("nexus-live");
  var followers = {}; // this tab's jobs: key -> follower
  var leader = null; // set in the one tab that holds the lock
  var liveUrl = null;
  var lockAsked = false;

  function post(message) {
    channel.postMessage(message);
    receive(message);
  }

  channel.onmessage = function (event) {
    receive(event.data);
  };

  function receive(message) {
    if (!message || typeof message !== "object") return;
    if (leader) leader.receive(message);
    if (message.type === "beat" && message.every > 0) beatMs = message.every * 1000;
    if (message.type === "event" || message.type === "beat" || message.type === "state") {
      Object.keys(followers).forEach(function (key) {
        followers[key].heard(); // the leader runs
      });
    }
    var follower = followers[message.job];
    if (message.type === "event" && follower) follower.event(message.name, message.data);
    else if (message.type === "state") {
      Object.keys(followers).forEach(function (key) {
        followers[key].state(message);
      });
    } else if (message.type === "census") {
      Object.keys(followers).forEach(function (key) {
        followers[key].announce();
      });
    }
  }

  // --- the leader ----------------------------------------------------------------------------------

  function Leader(url) {
    this.url = url;
    this.subs = {}; // tab -> {job: cursor}
    this.cursors = {}; // job -> newest line id passed on
    this.source = null;
    this.streamed = []; // the jobs of the open stream
    this.state = { type: "state", state: "reconnecting", jobs: [] };
    this.timer = null;
    document.documentElement.dataset.liveLeader = "true"; // for people and tests looking on
  }

  Leader.prototype.receive = function (message) {
    if (message.type === "sub") {
      (this.subs[message.tab] = this.subs[message.tab] || {})[message.job] = message.cursor;
      this.schedule(0);
    } else if (message.type === "unsub" && this.subs[message.tab]) {
      delete this.subs[message.tab][message.job];
      this.schedule(GATHER_MS);
    }
  };

  Leader.prototype.wanted = function () {
    var jobs = {};
    var subs = this.subs;
    Object.keys(subs).forEach(function (key) {
      Object.keys(subs[key]).forEach(function (job) {
        jobs[job] = job in jobs ? Math.min(jobs[job], subs[key][job]) : subs[key][job];
      });
    });
    return jobs; // job -> the oldest cursor a tab had of it when it asked
  };

  Leader.prototype.schedule = function (delay) {
    var self = this;
    if (this.timer !== null) return;
    this.timer = window.setTimeout(function () {
      self.timer = null;
      self.reconcile();
    }, Math.max(delay, GATHER_MS));
  };

  // Reopen when a tab wants a job the stream lacks; a job no tab wants any more stays in it until
  // the next reopen (its events are dropped by the tabs), which spares a reconnect per closed tab.
  Leader.prototype.reconcile = function () {
    var wanted = this.wanted();
    var jobs = Object.keys(wanted);
    var streamed = this.streamed;
    if (!jobs.length) {
      this.close();
      this.streamed = [];
      return;
    }
    if (this.state.state === "unavailable") {
      post(this.state);
      return;
    }
    var missing = jobs.some(function (job) {
      return streamed.indexOf(job) === -1;
    });
    if (missing || !this.source) this.open(wanted);
    else post(this.state);
  };

  // `streamed` outlives the stream: a reopen resumes its jobs from the cursors they reached.
  Leader.prototype.close = function () {
    if (this.source) this.source.close();
    window.clearTimeout(this.giveUp);
    this.source = null;
  };

  // A job the last stream carried resumes from its cursor: every tab following it has had its events
  // since it asked. A new one starts from the oldest cursor of the tabs that asked (a tab may have
  // asked before another tab's page was drawn); what a tab already shows, it drops.
  Leader.prototype.open = function (wanted) {
    var self = this;
    var before = this.streamed;
    this.close();
    var jobs = Object.keys(wanted).sort();
    var query = jobs.map(function (job) {
      if (before.indexOf(job) === -1 || !(job in self.cursors)) self.cursors[job] = wanted[job];
      return "job=" + encodeURIComponent(job + ":" + self.cursors[job]);
    });
    var source = new EventSource(this.url + "?" + query.join("&"));
    var opened = false;
    this.source = source;
    this.streamed = jobs;
    this.state = { type: "state", state: "connecting", jobs: jobs };
    post(this.state);
    this.giveUp = window.setTimeout(function () {
      if (!opened) self.unavailable();
    }, OPEN_MS);

    source.addEventListener("open", function () {
      opened = true;
      self.failures = 0;
      window.clearTimeout(self.giveUp);
      self.state = { type: "state", state: "live", jobs: jobs };
      post(self.state);
    });
    ["line", "status", "done", "refused"].forEach(function (name) {
      source.addEventListener(name, function (event) {
        var data;
        try {
          data = JSON.parse(event.data);
        } catch (error) {
          return; // garbled: the next reopen resumes from the cursor
        }
        if (name === "line") self.cursors[data.job] = Math.max(self.cursors[data.job] || 0, data.last);
        post({ type: "event", job: data.job, name: name, data: data });
      });
    });
    source.addEventListener("beat", function (event) {
      var every = 0;
      try {
        every = Number(JSON.parse(event.data).every) || 0;
      } catch (error) {
        // garbled: still a sign of life
      }
      post({ type: "beat", every: every });
    });
    source.addEventListener("reopen", function () {
      self.close();
      self.reconcile(); // at once: access is checked again, cursors carry on
    });
    source.addEventListener("error", function () {
      // CLOSED: the server refused the stream (a 204 from a server that cannot stream, an error
      // page); CONNECTING: it dropped, or ended because every job in it is done.
      var refused = source.readyState === EventSource.CLOSED;
      if (source !== self.source) return;
      self.close();
      self.failures = (self.failures || 0) + 1;
      if (!opened && (refused || self.failures > 2)) {
        self.unavailable();
        return;
      }
      self.state = { type: "state", state: "reconnecting", jobs: [] };
      post(self.state);
      window.setTimeout(function () {
        if (!self.source) self.reconcile();
      }, RETRY_MS);
    });
  };

  Leader.prototype.unavailable = function () {
    this.close();
    this.state = { type: "state", state: "unavailable", jobs: [] };
    post(this.state);
  };

  function lead() {
    leader = new Leader(liveUrl);
    post({ type: "census" });
    // Held until this tab goes: then the browser gives the lock to the next tab that asked.
    return new Promise(function () {});
  }

  // --- a tab following one job ---------------------------------------------------------------------

  // options: job (key), updatesUrl, cursor() (newest line id shown), handle(name, data) (true when
  // the job is done), onState("live" | "reconnecting" | "refused"), fallBack() (poll instead).
  function Follower(options) {
    this.options = options;
    this.active = false;
    this.held = null; // events that arrived while catching up, played after it
    this.stopped = false;
    this.answered = false; // a leader said it carries this tab's job
  }

  Follower.prototype.announce = function () {
    if (this.active) post({ type: "sub", tab: tab, job: this.options.job, cursor: this.options.cursor() });
  };

  Follower.prototype.start = function () {
    var self = this;
    if (this.stopped || this.active) return;
    this.active = true;
    this.held = [];
    this.announce();
    this.catchUp();
    this.answered = false;
    this.watch(SILENT_MS);
  };

  // Poll on its own unless the leader is heard from within `ms`: no leader answers at all, or the
  // one that did went silent (its tab frozen, with the lock still held).
  Follower.prototype.watch = function (ms) {
    var self = this;
    window.clearTimeout(this.silence);
    this.silence = window.setTimeout(function () {
      self.stop();
      self.options.fallBack();
    }, ms);
  };

  Follower.prototype.heard = function () {
    if (this.active && this.answered) this.watch(beatMs * MISSED_BEATS);
  };

  Follower.prototype.pause = function () {
    if (!this.active) return;
    this.active = false;
    this.held = null;
    window.clearTimeout(this.silence);
    post({ type: "unsub", tab: tab, job: this.options.job });
  };

  Follower.prototype.stop = function () {
    this.pause();
    this.stopped = true;
    delete followers[this.options.job];
  };

  // What happened since the cursor, from the polling endpoint (short requests, as many as needed).
  Follower.prototype.catchUp = function () {
    var self = this;
    var url = this.options.updatesUrl;
    fetch(url + (url.indexOf("?") === -1 ? "?" : "&") + "after=" + this.options.cursor(), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        // 401: signed out (the session ended); 403/404: access lost. Retrying cannot help either.
        if (response.status === 401 || response.status === 403 || response.status === 404) return { refused: true };
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (answer) {
        if (!self.active) return;
        if (answer.refused) {
          self.deliver("refused", {});
          return;
        }
        var done = false;
        (answer.events || []).forEach(function (event) {
          done = done || self.deliver(event.event, event.data || {});
        });
        if (done) return;
        if (answer.more) {
          self.catchUp();
          return;
        }
        var held = self.held || [];
        self.held = null;
        held.some(function (event) {
          return self.deliver(event[0], event[1]);
        });
      })
      .catch(function () {
        if (self.active) window.setTimeout(self.catchUp.bind(self), RETRY_MS); // still holding events
      });
  };

  Follower.prototype.event = function (name, data) {
    if (!this.active) return;
    if (this.held) this.held.push([name, data]);
    else this.deliver(name, data);
  };

  // True when nothing more will come for this job.
  Follower.prototype.deliver = function (name, data) {
    if (this.stopped) return true;
    if (name === "refused") {
      this.stop();
      this.options.onState("refused");
      return true;
    }
    if (this.options.handle(name, data)) {
      this.stop();
      return true;
    }
    return false;
  };

  Follower.prototype.state = function (message) {
    if (!this.active) return;
    if (message.state === "unavailable") {
      this.stop();
      this.options.fallBack();
    } else if (message.jobs.indexOf(this.options.job) !== -1) {
      this.answered = true; // a leader is on it
      this.heard();
      if (message.state === "live") this.options.onState("live");
    } else if (message.state === "reconnecting") {
      this.answered = true;
      this.heard();
      this.options.onState("reconnecting");
    }
  };

  var hiddenTimer = null;
  document.addEventListener("visibilitychange", function () {
    window.clearTimeout(hiddenTimer);
    var all = Object.keys(followers).map(function (key) {
      return followers[key];
    });
    if (document.visibilityState === "hidden") {
      hiddenTimer = window.setTimeout(function () {
        all.forEach(function (follower) {
          follower.pause();
        });
      }, PAUSE_MS);
    } else {
      all.forEach(function (follower) {
        follower.start(); // and catch up on what came while hidden
      });
    }
  });

  window.addEventListener("pagehide", function () {
    Object.keys(followers).forEach(function (key) {
      followers[key].pause();
    });
  });

  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return; // back from the back-forward cache: follow again
    Object.keys(followers).forEach(function (key) {
      followers[key].start();
    });
  });

  window.LiveStreams = {
    // Follow a job through the browser's shared stream; returns an object with stop().
    follow: function (url, options) {
      liveUrl = liveUrl || url;
      var follower = (followers[options.job] = new Follower(options));
      if (!lockAsked) {
        lockAsked = true;
        navigator.locks.request(LOCK, lead);
      }
      follower.start();
      return follower;
    },
  };
})();
