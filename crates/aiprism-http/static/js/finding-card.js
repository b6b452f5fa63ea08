// One finding as a card: what it says, where it comes from, and its actions. Pure rendering: the
// findings panel passes the finding, its reviewer replies and the action handlers.
import { h, percent } from './dom.js';

const STATUS_LABEL = { pending: 'Pending', accepted: 'Accepted', rejected: 'Rejected' };

/** Who produced a finding, as shown on the card ("Rule: placeholder-text", "Model: ...", "Reviewer"). */
export function sourceLabel(f) {
  if (f.source === 'rule') return `Rule: ${f.rule_id || 'rule'}`;
  if (f.source === 'model') return `Model${f.model ? `: ${f.model}` : ''}`;
  return 'Reviewer';
}

/** The CSS class of a finding's highlight in the text. */
export function highlightClass(f) {
  if (f.source === 'reviewer') return `hl-${f.highlight_color || 'yellow'}`;
  return `hl-risk-${f.risk}`;
}

function button(label, action, { pressed, shortcut, primary } = {}) {
  return h('button', {
    type: 'button',
    class: `small${primary ? ' primary' : ''}`,
    text: label,
    dataset: { action },
    attrs: { 'aria-pressed': pressed === undefined ? null : String(pressed), 'aria-keyshortcuts': shortcut },
  });
}

function reply(child, handlers) {
  return h(
    'li',
    { class: 'reply', dataset: { findingId: child.id } },
    h('p', { class: 'reply-meta small muted', text: `Reviewer comment${child.edited ? ' (edited)' : ''}` }),
    h('p', { class: 'reply-text', text: child.description }),
    h(
      'div',
      { class: 'card-actions' },
      h('button', { type: 'button', class: 'small ghost', text: 'Delete', on: { click: () => handlers.remove(child.id) } }),
    ),
  );
}

/**
 * Renders a card. `handlers`: decide(id, status), edit(id), comment(parentId), remove(id),
 * showQuote(id), select(id). `sectionTitle` is shown when the list spans sections.
 */
export function findingCard(f, { children = [], selected = false, sectionTitle = null, handlers }) {
  const reviewer = f.source === 'reviewer';
  const header = h(
    'div',
    { class: 'finding-head' },
    h('span', { class: `badge type-${f.type}`, text: f.type }),
    h('span', { class: `badge risk-${f.risk}`, text: `${f.risk} risk` }),
    h('span', { class: `badge source source-${f.source}`, text: sourceLabel(f) }),
    f.category ? h('span', { class: 'badge category', text: f.category }) : null,
    f.downranked
      ? h('span', { class: 'badge downranked', text: 'Often rejected', title: 'You usually reject findings of this category; it is listed last.' })
      : null,
    reviewer ? null : h('span', { class: 'confidence small', text: `Confidence ${percent(f.confidence)}` }),
    h('span', { class: `status-label status-${f.status}`, text: STATUS_LABEL[f.status] || f.status }),
    f.edited ? h('span', { class: 'small muted', text: 'edited' }) : null,
  );
  const body = [
    sectionTitle ? h('p', { class: 'small muted', text: `Section: ${sectionTitle}` }) : null,
    h('p', { class: 'description', text: f.description }),
    f.suggestion ? h('p', { class: 'suggestion' }, h('strong', { text: 'Suggestion: ' }), f.suggestion) : null,
    f.example ? h('p', { class: 'example' }, h('strong', { text: 'Example: ' }), f.example) : null,
    f.questions && f.questions.length
      ? h('div', { class: 'questions' }, h('strong', { text: 'Questions' }), h('ul', {}, f.questions.map((q) => h('li', { text: q }))))
      : null,
    f.checkpoints && f.checkpoints.length
      ? h('p', { class: 'checkpoints small' }, 'Checkpoints: ', f.checkpoints.map((c) => h('span', { class: 'chip', text: c })))
      : null,
    f.quote
      ? h('button', { type: 'button', class: 'quote-link', dataset: { action: 'quote' }, attrs: { title: 'Show in the text' } }, `“${f.quote}”`)
      : null,
    f.note ? h('p', { class: 'note small' }, h('strong', { text: 'Note: ' }), f.note) : null,
  ];
  const actions = reviewer
    ? [button('Edit', 'edit'), button('Delete', 'delete')]
    : [
        button('Accept', 'accept', { pressed: f.status === 'accepted', shortcut: 'A', primary: f.status !== 'accepted' }),
        button('Reject', 'reject', { pressed: f.status === 'rejected', shortcut: 'R' }),
        f.status === 'pending' ? null : button('Undo', 'undo', { shortcut: 'U' }),
        button('Edit', 'edit'),
        button('Comment', 'comment', { shortcut: 'C' }),
      ];
  const card = h(
    'li',
    {
      class: `finding-card status-${f.status} risk-${f.risk} source-${f.source}${selected ? ' selected' : ''}`,
      tabIndex: -1,
      dataset: { findingId: f.id },
      attrs: { 'aria-current': selected ? 'true' : null, 'aria-label': `${f.type}, ${f.risk} risk, ${STATUS_LABEL[f.status]}: ${f.description}` },
    },
    header,
    body,
    h('div', { class: 'card-actions' }, actions),
    children.length ? h('ol', { class: 'replies', attrs: { 'aria-label': 'Reviewer comments' } }, children.map((c) => reply(c, handlers))) : null,
  );
  card.addEventListener('click', (event) => {
    const target = event.target.closest('[data-action]');
    handlers.select(f.id);
    if (!target || !card.contains(target) || target.closest('.reply')) return;
    const action = target.dataset.action;
    if (action === 'accept') handlers.decide(f.id, 'accepted');
    else if (action === 'reject') handlers.decide(f.id, 'rejected');
    else if (action === 'undo') handlers.decide(f.id, 'pending');
    else if (action === 'edit') handlers.edit(f.id);
    else if (action === 'comment') handlers.comment(f.id);
    else if (action === 'delete') handlers.remove(f.id);
    else if (action === 'quote') handlers.showQuote(f.id);
  });
  return card;
}
