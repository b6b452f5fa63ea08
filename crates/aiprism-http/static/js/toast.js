// Toast notifications in an ARIA live region; errors are also announced assertively.
import { h, $ } from './dom.js';

/** Shows a message; `kind` is info, success, warning or error. Errors stay until closed. */
export function toast(message, kind = 'info', { timeout = 5000 } = {}) {
  const region = $('#toasts');
  if (!region) return;
  const close = h('button', { type: 'button', class: 'toast-close', attrs: { 'aria-label': 'Dismiss' }, text: '×' });
  const item = h('div', { class: `toast toast-${kind}` }, h('span', { class: 'toast-text', text: message }), close);
  close.addEventListener('click', () => item.remove());
  region.append(item);
  if (kind === 'error') {
    const alerts = $('#alerts');
    if (alerts) alerts.textContent = message;
  }
  if (kind !== 'error') setTimeout(() => item.remove(), timeout);
}

/** Shows an error (an ApiError's message, or a generic one). */
export function toastError(error, prefix = '') {
  const message = (error && error.message) || 'Something went wrong.';
  toast(prefix ? `${prefix}: ${message}` : message, 'error');
}
