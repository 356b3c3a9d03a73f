// Live events of the job: "line", "status" and "done" (tracking/views/jobs.py), from the browser's
// shared stream (static/js/livestreams.js: one EventSource for all tabs), else from the page's own
// EventSource, else by polling the `updates` endpoint.
//
// The page's own stream is left to the browser's reconnection: the server sends `retry:` and an
// `id:` (the last line's id) with every line event, and a reconnecting EventSource sends that back
// as Last-Event-ID, which the server prefers to the URL's cursor. A stream that never opens (a proxy
// that buffers, a server that cannot stream: a 204 closes it) gives way to polling.
import { backoff, getJSON, HttpError, withQuery } from "./net.js";

const LOST = "Live updates stopped: this job's log is no longer available to you. Reload the page to see why.";

// options: dataset (the viewer's data- attributes), cursor() (newest line id shown),
// handle(name, data) (true once the job is done), state(sentence).
export function follow(options) {
  const { dataset } = options;
  const timing = {
    poll: Number(dataset.pollMs) || 2000,
    open: Number(dataset.openMs) || 6000,
    max: Number(dataset.retryMaxMs) || 30000,
  };
  if (window.LiveStreams && dataset.liveUrl && dataset.liveJob) return share(options, timing);
  if (window.EventSource && dataset.streamUrl) return own(options, timing);
  return poll(options, timing);
}

function share(options, timing) {
  window.LiveStreams.follow(options.dataset.liveUrl, {
    job: options.dataset.liveJob,
    updatesUrl: options.dataset.updatesUrl,
    cursor: options.cursor,
    handle: options.handle,
    onState: (state) => options.state(state === "live" ? "Live." : state === "reconnecting" ? "Reconnecting…" : LOST),
    fallBack: () => poll(options, timing),
  });
}

function own(options, timing) {
  const source = new EventSource(withQuery(options.dataset.streamUrl, { after: options.cursor() }));
  let opened = false;
  let done = false;
  const giveUp = window.setTimeout(() => {
    if (opened) return;
    source.close();
    poll(options, timing);
  }, timing.open);
  source.addEventListener("open", () => {
    opened = true;
    window.clearTimeout(giveUp);
    options.state("Live.");
  });
  for (const name of ["line", "status", "done"]) {
    source.addEventListener(name, (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch (error) {
        return; // garbled: the next event, or a reconnect from the last id, carries on
      }
      if (options.handle(name, data)) {
        done = true;
        source.close();
      }
    });
  }
  source.addEventListener("error", () => {
    if (done) return;
    if (source.readyState === EventSource.CLOSED) {
      // Refused (a 204 from a server that cannot stream, an error page): poll instead.
      window.clearTimeout(giveUp);
      poll(options, timing);
    } else {
      options.state("Reconnecting…"); // the browser retries by itself, from Last-Event-ID
    }
  });
}

function poll(options, timing) {
  options.state("Live (checking every few seconds).");
  let wait = 0;
  const next = async () => {
    let answer;
    try {
      answer = await getJSON(withQuery(options.dataset.updatesUrl, { after: options.cursor() }));
    } catch (error) {
      if (error instanceof HttpError && (error.status === 403 || error.status === 404)) {
        options.state(LOST);
        return;
      }
      wait = backoff(wait, timing.poll, timing.max);
      options.state(
        error.status
          ? "Live updates paused: the dashboard answered " + error.status + ". Retrying…"
          : "Live updates paused: the dashboard cannot be reached. Retrying…",
      );
      window.setTimeout(next, wait);
      return;
    }
    wait = 0;
    let done = false;
    for (const event of answer.events || []) done = options.handle(event.event, event.data || {}) || done;
    if (done) return;
    options.state("Live (checking every few seconds).");
    window.setTimeout(next, answer.more ? 0 : timing.poll);
  };
  next();
}
