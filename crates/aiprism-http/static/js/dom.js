// Small DOM helpers. Everything is built with DOM methods and textContent, never by parsing markup, so text
// from documents, models and users can never become markup.

/**
 * Creates an element. `props`: class, text, dataset, attrs, on (event listeners), and any other
 * property assigned directly (value, checked, type, disabled, hidden, href...). Children may be
 * strings, nodes, arrays or null.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Creates an SVG element; `attrs` are set as attributes (presentation attributes, not styles). */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function applyProps(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'attrs') {
      for (const [name, v] of Object.entries(value)) {
        if (v !== undefined && v !== null && v !== false) el.setAttribute(name, v === true ? '' : String(v));
      }
    } else if (key === 'on') {
      for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    } else el[key] = value;
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Removes every child of an element. */
export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** `querySelector` with a root. */
export function $(selector, root = document) {
  return root.querySelector(selector);
}

/** `querySelectorAll` as an array. */
export function $$(selector, root = document) {
  return Array.from(root.querySelectorAll(selector));
}

/** A time in the browser's zone, short. */
export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A percentage for a 0..1 value. */
export function percent(value) {
  return `${Math.round((Number(value) || 0) * 100)}%`;
}

/** A browser download of a same-origin URL (the server names the file). */
export function download(url) {
  const a = h('a', { href: url, attrs: { download: '' }, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
}
