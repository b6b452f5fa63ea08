// Keyboard shortcuts: one registry, one listener. Keys are ignored while the reader types in a field,
// while a dialog is open, and when a modifier (Ctrl, Alt, Meta) is held.
import { h, $, clear } from './dom.js';
import { openDialog } from './dialog.js';

const bindings = new Map();

/** Registers `key` (a single character as typed, e.g. "n" or "?") with a description. */
export function bind(key, description, handler) {
  bindings.set(key, { description, handler });
  renderHelp();
}

function typing(target) {
  if (!(target instanceof Element)) return false;
  return Boolean(target.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]'));
}

function renderHelp() {
  const list = $('#shortcuts-list');
  if (!list) return;
  clear(list);
  for (const [key, { description }] of bindings) {
    list.append(h('dt', {}, h('kbd', { text: key.toUpperCase() === key ? key : key.toUpperCase() })), h('dd', { text: description }));
  }
}

/** Opens the list of shortcuts. */
export function showHelp() {
  renderHelp();
  openDialog($('#shortcuts-dialog'), { focus: $('#shortcuts-dialog [data-close]') });
}

/** Starts listening (once per page). */
export function initShortcuts() {
  bind('?', 'Show this list', showHelp);
  document.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target) || document.querySelector('dialog[open]')) return;
    const binding = bindings.get(event.key) || bindings.get(event.key.toLowerCase());
    if (!binding) return;
    event.preventDefault();
    binding.handler(event);
  });
}
