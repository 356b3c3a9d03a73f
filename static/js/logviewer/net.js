// Requests of the log viewer, and its one retry policy.

// An answer that is not a success: `status` is the HTTP status (0: no answer at all), `body` the
// JSON it carried, if any (a 400 of the search carries {"error": "<a sentence>"}).
export class HttpError extends Error {
  constructor(status, body) {
    super(status ? "status " + status : "no answer");
    this.status = status;
    this.body = body;
  }

  // Retrying cannot help: the request was refused or the job's log is no longer ours to read.
  get final() {
    return this.status >= 400 && this.status < 500;
  }
}

// `signal` (an AbortController's) cancels the request: the promise then rejects with the
// browser's AbortError, not an HttpError, so a cancelled request is never reported as a failure.
export async function getJSON(url, { signal } = {}) {
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new HttpError(0, null);
  }
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    if (response.ok) throw new HttpError(0, null); // a page that is not JSON: a proxy's error page
  }
  if (!response.ok) throw new HttpError(response.status, body);
  return body;
}

export function withQuery(url, params) {
  const query = new URLSearchParams(params).toString();
  return url + (url.includes("?") ? "&" : "?") + query;
}

// The next wait of a doubling backoff, between `first` and `max` milliseconds.
export function backoff(previous, first, max) {
  return Math.min(previous ? previous * 2 : first, max);
}

export const sleep = (ms) => new Promise((resolve) => window.setTimeout(resolve, ms));

// Run `task` until it succeeds, `attempts` times at most, waiting longer after each failure; an
// answer that says no (4xx) is not retried, nor a request cancelled. `onWait(error, ms)` hears about
// each wait.
export async function retrying(task, { attempts = 3, first = 1000, max = 30000, onWait = null } = {}) {
  let wait = 0;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await task();
    } catch (error) {
      if (attempt >= attempts || error.name === "AbortError" || (error instanceof HttpError && error.final)) {
        throw error;
      }
      wait = backoff(wait, first, max);
      if (onWait) onWait(error, wait);
      await sleep(wait);
    }
  }
}
