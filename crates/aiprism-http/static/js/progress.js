// Live review progress from the server's event stream (`GET /api/v1/reviews/{id}/events`). Counts are
// the server's: sections done / total from the review resource, refreshed as `section_done` events
// arrive; never an estimate. EventSource resumes with Last-Event-ID by itself after a drop.
import { api } from './api.js';

const TERMINAL = new Set(['succeeded', 'partial', 'failed', 'cancelled']);

/** Whether a review status is final. */
export function isTerminal(status) {
  return TERMINAL.has(status);
}

/**
 * Follows a review until it ends. Callbacks: `onReview(review)` whenever the server's review changed
 * (progress, status), `onSection(data)` per section_done, `onFinding(data)` per finding,
 * `onProblem(message)` for stream trouble. Returns a function that stops following.
 */
export function followReview(reviewId, { onReview, onSection, onFinding, onProblem } = {}) {
  let stopped = false;
  let refreshTimer = null;
  const source = new EventSource(`/api/v1/reviews/${encodeURIComponent(reviewId)}/events`);

  const stop = () => {
    stopped = true;
    clearTimeout(refreshTimer);
    source.close();
  };

  const refresh = async () => {
    try {
      const review = await api.get(`/api/v1/reviews/${encodeURIComponent(reviewId)}`);
      if (onReview) onReview(review);
      if (isTerminal(review.status)) stop();
    } catch (e) {
      if (onProblem) onProblem(e.message);
    }
  };

  const scheduleRefresh = (delay = 250) => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, delay);
  };

  const parse = (event) => {
    try {
      return JSON.parse(event.data);
    } catch {
      return {};
    }
  };

  source.addEventListener('section_started', () => scheduleRefresh(400));
  source.addEventListener('section_done', (event) => {
    if (onSection) onSection(parse(event));
    scheduleRefresh();
  });
  source.addEventListener('finding', (event) => {
    if (onFinding) onFinding(parse(event));
  });
  source.addEventListener('review_done', () => {
    source.close();
    scheduleRefresh(0);
  });
  source.addEventListener('error', (event) => {
    if (stopped) return;
    if (typeof event.data === 'string') {
      // A server-sent `error` event: the stream goes on.
      if (onProblem) onProblem(parse(event).message || 'Progress is temporarily unavailable.');
      return;
    }
    // The connection dropped or the stream ended. A finished review has nothing more to send; the
    // browser reconnects (with Last-Event-ID) otherwise.
    if (source.readyState === EventSource.CLOSED) refresh();
    else scheduleRefresh(1000);
  });
  refresh();
  return stop;
}
