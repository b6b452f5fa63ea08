// The dark-mode toggle: follows the system preference until the reader chooses, then remembers the
// choice in localStorage (theme-init.js applies it before the first paint).

const KEY = 'aiprism-theme';

function effectiveTheme() {
  const set = document.documentElement.getAttribute('data-theme');
  if (set === 'dark' || set === 'light') return set;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function reflect(button) {
  const dark = effectiveTheme() === 'dark';
  button.setAttribute('aria-pressed', String(dark));
  button.textContent = dark ? 'Light mode' : 'Dark mode';
}

/** Switches between light and dark and saves the choice. */
export function toggleTheme() {
  const next = effectiveTheme() === 'dark' ? 'light' : 'dark';
  document.documentElement.setAttribute('data-theme', next);
  try {
    window.localStorage.setItem(KEY, next);
  } catch {
    // Storage disabled: the choice lasts for this page only.
  }
  const button = document.getElementById('theme-toggle');
  if (button) reflect(button);
}

/** Wires the toggle button. */
export function initTheme(button) {
  if (!button) return;
  reflect(button);
  button.addEventListener('click', toggleTheme);
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => reflect(button));
}
