// Modal dialogs on the native <dialog>: focus moves in, Tab cycles inside (a focus trap), Escape
// closes (the browser's cancel), and focus returns to what opened it.
import { $, $$ } from './dom.js';

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

function trap(event) {
  if (event.key !== 'Tab') return;
  const dialog = event.currentTarget;
  const items = $$(FOCUSABLE, dialog).filter((el) => !el.closest('[hidden]') && el.offsetParent !== null);
  if (!items.length) return;
  const first = items[0];
  const last = items[items.length - 1];
  if (event.shiftKey && document.activeElement === first) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}

const wired = new WeakSet();

function wire(dialog) {
  if (wired.has(dialog)) return;
  wired.add(dialog);
  dialog.addEventListener('keydown', trap);
  dialog.addEventListener('click', (event) => {
    const closer = event.target.closest('[data-close]');
    if (closer && dialog.contains(closer)) dialog.close('cancel');
  });
}

/** Opens a dialog modally; `focus` is the element to focus first (default: the first field). */
export function openDialog(dialog, { focus } = {}) {
  if (!dialog || dialog.open) return;
  wire(dialog);
  const opener = document.activeElement;
  dialog.addEventListener(
    'close',
    () => {
      if (opener && typeof opener.focus === 'function' && document.contains(opener)) opener.focus();
    },
    { once: true },
  );
  dialog.showModal();
  const target = focus || $('textarea, input:not([type=hidden]):not([type=radio]), select, button.primary', dialog);
  if (target) target.focus();
}

/** Asks a yes/no question in the page's confirm dialog; resolves true when confirmed. */
export function confirmDialog(message, { title = 'Are you sure?', confirmLabel = 'Confirm' } = {}) {
  const dialog = $('#confirm-dialog');
  $('#confirm-title', dialog).textContent = title;
  $('#confirm-message', dialog).textContent = message;
  const ok = $('#confirm-ok', dialog);
  ok.textContent = confirmLabel;
  return new Promise((resolve) => {
    const onOk = () => dialog.close('ok');
    ok.addEventListener('click', onOk);
    dialog.addEventListener(
      'close',
      () => {
        ok.removeEventListener('click', onOk);
        resolve(dialog.returnValue === 'ok');
      },
      { once: true },
    );
    dialog.returnValue = '';
    openDialog(dialog, { focus: ok });
  });
}
