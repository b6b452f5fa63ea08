// The audit trail as table rows, shared by a document's statistics page and the dashboard's log across
// documents. Everything is text: details come from the server and are never inserted as markup.
import { $, clear, formatTime, h } from './dom.js';

/** An activity entry's details as "key: value" pairs (empty values left out). */
export function describe(details) {
  if (details === null || details === undefined) return '';
  if (typeof details !== 'object') return String(details);
  return Object.entries(details)
    .filter(([, v]) => v !== null && v !== '' && !(Array.isArray(v) && !v.length))
    .map(([k, v]) => `${k.replace(/_/g, ' ')}: ${typeof v === 'object' ? JSON.stringify(v) : v}`)
    .join(' · ');
}

/**
 * Fills the table body `selector` with `entries`; with `documents` (a Map of id → filename) a column links
 * each entry to its document's review page.
 */
export function renderActivity(selector, entries, documents = null) {
  const rows = $(selector);
  clear(rows);
  for (const entry of entries) {
    const cells = [
      h('td', {}, h('time', { attrs: { datetime: entry.at }, text: formatTime(entry.at) })),
      h('td', { text: entry.actor || '' }),
      h('td', { text: entry.action || '' }),
      h('td', { class: 'details', text: describe(entry.details) }),
    ];
    if (documents) {
      const id = entry.document_id;
      const name = (id && documents.get(id)) || (entry.details && entry.details.filename) || id || '';
      cells.splice(
        1,
        0,
        h('td', {}, id && documents.has(id) ? h('a', { attrs: { href: `/documents/${encodeURIComponent(id)}` }, text: name }) : h('span', { text: name })),
      );
    }
    rows.append(h('tr', {}, ...cells));
  }
  if (!rows.children.length) {
    rows.append(h('tr', {}, h('td', { attrs: { colspan: documents ? 5 : 4 }, class: 'muted', text: 'No activity yet.' })));
  }
}
