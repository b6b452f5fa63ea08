// The one HTTP client of the UI: JSON in and out, the CSRF header on every state-changing request,
// and the server's `{"error": {"code", "message"}}` turned into an ApiError with a readable message.

/** An error from the API (or from the network, with status 0). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** The CSRF token: the `aiprism_csrf` cookie (always current), else the page's meta tag. */
export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)aiprism_csrf=([A-Za-z0-9]+)/);
  if (match) return match[1];
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute('content') : '';
}

/** Headers with the CSRF token added. */
export function withCsrf(headers = {}) {
  return { ...headers, 'X-CSRF-Token': csrfToken() };
}

/** Reads an error response into an ApiError, whatever its body. */
export async function errorFrom(response) {
  let code = 'http_error';
  let message = `The server answered ${response.status} ${response.statusText}.`.replace(' .', '.');
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    // Not JSON (a proxy's error page, for instance): keep the generic message.
  }
  if (response.status === 404 && code === 'not_found' && message === 'No such route.') {
    message = 'This feature is not available on this server yet.';
  }
  return new ApiError(response.status, code, message);
}

/**
 * Sends a request. `json` is sent as a JSON body, `body` as is (FormData). Answers the parsed JSON
 * body (null for 204); throws ApiError.
 */
export async function request(method, path, { json, body, headers = {}, signal } = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers }, signal, credentials: 'same-origin' };
  if (method !== 'GET' && method !== 'HEAD') init.headers = withCsrf(init.headers);
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'Could not reach the server. Check your connection and try again.');
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  if (!type.includes('json')) return null;
  return response.json();
}

/** Shorthands. */
export const api = {
  get: (path, options) => request('GET', path, options),
  post: (path, json, options = {}) => request('POST', path, { ...options, json }),
  patch: (path, json) => request('PATCH', path, { json }),
  del: (path) => request('DELETE', path),
  upload: (path, formData) => request('POST', path, { body: formData }),
};
