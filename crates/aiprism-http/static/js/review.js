// The review page: wires the section view, the findings panel, live progress, chat, comments, edits,
// export and the keyboard shortcuts together. Every change goes to the server and the page shows what
// the server answered.
import './shell.js';
import { api } from './api.js';
import { $, $$, clear, h } from './dom.js';
import { toast, toastError } from './toast.js';
import { confirmDialog, openDialog } from './dialog.js';
import { bind } from './shortcuts.js';
import { followReview, isTerminal } from './progress.js';
import { SectionView } from './section-view.js';
import { FindingsPanel } from './findings.js';
import { highlightClass } from './finding-card.js';
import { ChatPanel } from './chat.js';
import { ExportDialog } from './export.js';

const root = $('#review');
const documentId = root.dataset.documentId;
let review = JSON.parse(root.dataset.review || 'null');
let stopFollowing = null;

const sections = new SectionView(root);
const findings = new FindingsPanel({
  documentId,
  sections,
  minConfidence: Number.parseFloat(root.dataset.minConfidence) || 0.8,
  onQuote: (id) => showQuote(id),
  onEdit: (f) => openEdit(f),
  onComment: (options) => openComment(options),
});
const chat = new ChatPanel({ documentId, sections });
const exporter = new ExportDialog({ documentId, s3Enabled: root.dataset.s3Export === 'true', tally: () => findings.tally() });

// ---- Section changes, badges and highlights ------------------------------------------------------

function syncHighlights() {
  for (const section of sections.sections) {
    sections.setHighlights(
      section.id,
      findings.highlightsFor(section.id).map((f) => ({ id: f.id, quote: f.quote, cls: highlightClass(f) })),
    );
  }
}

function syncBadges() {
  const counts = findings.countsBySection();
  for (const link of $$('#section-nav a[data-section-id]')) {
    const slot = $('[data-badges]', link);
    clear(slot);
    const c = counts.get(link.dataset.sectionId);
    if (!c) continue;
    if (c.risk) slot.append(h('span', { class: `badge risk-${c.risk}`, text: c.risk }));
    slot.append(h('span', { class: 'count-badge', text: String(c.total), attrs: { title: `${c.total} findings, ${c.pending} pending` } }));
  }
}

findings.onChange(() => {
  syncBadges();
  syncHighlights();
});
sections.onChange(() => {
  findings.selectedId = null;
  findings.render();
});
sections.onMarkClick = (id) => {
  showTab('findings');
  if (!findings.visible().some((f) => f.id === id)) return;
  findings.select(id);
};

function showQuote(id) {
  const f = findings.findings.get(id);
  if (!f) return;
  if (f.section_id !== sections.current.id) sections.show(f.section_id);
  if (!sections.flash(id)) toast('This quote could not be found in the section text.', 'warning');
}

// ---- Review status and live progress -------------------------------------------------------------

const banner = $('#review-banner');
const live = $('#progress-live');
let lastAnnounced = '';

function announce(text) {
  if (text !== lastAnnounced) {
    live.textContent = text;
    lastAnnounced = text;
  }
}

function action(label, handler, cls = '') {
  return h('button', { type: 'button', class: `small ${cls}`, text: label, on: { click: handler } });
}

function renderReview() {
  clear(banner);
  banner.className = 'banner';
  if (!review) {
    banner.append(h('p', { text: 'This document has not been reviewed yet.' }), action('Start review', startReview, 'primary'));
    return;
  }
  const { sections_done: done, sections_total: total } = review.progress;
  if (!isTerminal(review.status)) {
    banner.classList.add('banner-running');
    const label = review.status === 'queued' ? 'Review queued…' : `Reviewing: ${done} of ${total} sections done`;
    banner.append(
      h('p', { id: 'progress-label', text: label }),
      h('progress', { id: 'review-progress', max: Math.max(total, 1), value: done, attrs: { 'aria-labelledby': 'progress-label' } }),
      action('Cancel', cancelReview),
    );
    announce(label);
  } else if (review.status === 'partial' || review.status === 'failed') {
    banner.classList.add('banner-error');
    banner.append(
      h('div', {}, h('p', { class: 'banner-title', text: 'AI review unavailable' }), h('p', { text: review.error || 'The model could not review some sections; they have rule findings only.' })),
      action('Retry', startReview, 'primary'),
    );
    announce(`Review ${review.status}: ${review.error || ''}`);
  } else if (review.status === 'cancelled') {
    banner.append(h('p', { text: `Review cancelled after ${done} of ${total} sections.` }), action('Start again', startReview));
    announce('Review cancelled');
  } else {
    banner.classList.add('banner-done');
    const models = review.models_used && review.models_used.length ? ` · models: ${review.models_used.join(', ')}` : '';
    banner.append(h('p', { text: `Review finished: ${done} of ${total} sections${models}.` }), action('Review again', startReview));
    announce('Review finished');
  }
  if (review.notice) banner.append(h('p', { class: 'notice', id: 'review-notice', text: review.notice }));
}

function follow() {
  if (stopFollowing) stopFollowing();
  stopFollowing = null;
  renderReview();
  if (!review || isTerminal(review.status)) return;
  const dirty = new Set();
  let timer = null;
  const flush = () => {
    const ids = [...dirty];
    dirty.clear();
    for (const id of ids) findings.refreshSection(id).catch((e) => toastError(e, 'Could not load findings'));
  };
  const touch = (sectionId) => {
    if (!sectionId) return;
    dirty.add(sectionId);
    clearTimeout(timer);
    timer = setTimeout(flush, 150);
  };
  stopFollowing = followReview(review.id, {
    onReview(updated) {
      const ended = isTerminal(updated.status) && !isTerminal(review.status);
      review = updated;
      renderReview();
      if (ended) findings.load().catch((e) => toastError(e, 'Could not load findings'));
    },
    onSection: (data) => touch(data.section_id),
    onFinding: (data) => touch(data.section_id),
    onProblem: (message) => announce(message),
  });
}

async function startReview() {
  try {
    review = await api.post(`/api/v1/documents/${encodeURIComponent(documentId)}/reviews`, {});
    toast('Review started.', 'info');
    follow();
  } catch (e) {
    toastError(e, 'Could not start the review');
  }
}

async function cancelReview() {
  try {
    review = await api.post(`/api/v1/reviews/${encodeURIComponent(review.id)}/cancel`, {});
    follow();
  } catch (e) {
    toastError(e, 'Could not cancel');
  }
}

// ---- Comments and edits ---------------------------------------------------------------------------

const commentDialog = $('#comment-dialog');
const commentForm = $('#comment-form');
let commentTarget = null;

/** Opens the comment dialog for a finding (`parent`), a text selection (`selection`) or the section. */
function openComment({ parent = null, selection = null } = {}) {
  commentTarget = { parent, selection, sectionId: parent ? parent.section_id : selection ? selection.sectionId : sections.current.id };
  commentForm.reset();
  const quote = $('#comment-quote');
  quote.hidden = !selection;
  quote.textContent = selection ? selection.quote : '';
  const section = sections.section(commentTarget.sectionId);
  $('#comment-title').textContent = parent ? 'Comment on this finding' : selection ? 'Comment on the selected text' : 'Comment on this section';
  $('#comment-context').textContent = parent ? `On: ${parent.description}` : `Section: ${section ? section.title : ''}`;
  openDialog(commentDialog, { focus: $('#comment-text') });
}

commentForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = new FormData(commentForm);
  const text = String(data.get('text') || '').trim();
  if (!text) return;
  const body = { section_id: commentTarget.sectionId, text, type: data.get('type') };
  const category = String(data.get('category') || '').trim();
  if (category) body.category = category;
  if (commentTarget.parent) body.parent_id = commentTarget.parent.id;
  if (commentTarget.selection) {
    body.quote = commentTarget.selection.quote;
    body.highlight_color = (document.querySelector('input[name="highlight-color"]:checked') || {}).value || 'yellow';
  }
  try {
    await findings.comment(body);
    commentDialog.close();
    window.getSelection().removeAllRanges();
  } catch (e) {
    toastError(e, 'Comment not saved');
  }
});

const editDialog = $('#edit-dialog');
const editForm = $('#edit-form');
let editing = null;

function openEdit(f) {
  if (!f) return;
  editing = f;
  const e = editForm.elements;
  e.description.value = f.description;
  e.suggestion.value = f.suggestion || '';
  e.type.value = f.type;
  e.risk.value = f.risk;
  e.category.value = f.category || '';
  openDialog(editDialog, { focus: e.description });
}

editForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const e = editForm.elements;
  const changes = {};
  for (const [field, value] of [
    ['description', e.description.value.trim()],
    ['suggestion', e.suggestion.value.trim()],
    ['type', e.type.value],
    ['risk', e.risk.value],
    ['category', e.category.value.trim()],
  ]) {
    if (value !== (editing[field] || '')) changes[field] = value;
  }
  if (!Object.keys(changes).length) {
    editDialog.close();
    return;
  }
  try {
    await findings.edit(editing.id, changes);
    editDialog.close();
  } catch (err) {
    toastError(err, 'Changes not saved');
  }
});

// ---- Selection tools ------------------------------------------------------------------------------

const selectionButton = $('#comment-selection');
sections.onSelection((selection) => {
  selectionButton.disabled = !selection;
  $('#selection-hint').textContent = selection ? `Selected: “${selection.quote.slice(0, 60)}${selection.quote.length > 60 ? '…' : ''}”` : 'Select text in the section to comment on it.';
});
// Keep the text selection when the button is pressed.
selectionButton.addEventListener('mousedown', (event) => event.preventDefault());
selectionButton.addEventListener('click', () => {
  const selection = sections.lastSelection;
  if (selection) openComment({ selection });
});

// ---- Tabs, toolbar buttons --------------------------------------------------------------------------

function showTab(name) {
  for (const tab of $$('[role="tab"]')) {
    const on = tab.id === `tab-${name}`;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`#${tab.getAttribute('aria-controls')}`).hidden = !on;
  }
}
for (const tab of $$('[role="tab"]')) {
  tab.addEventListener('click', () => showTab(tab.id.replace('tab-', '')));
  tab.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
      const next = tab.id === 'tab-findings' ? 'chat' : 'findings';
      showTab(next);
      $(`#tab-${next}`).focus();
    }
  });
}

$('#add-comment').addEventListener('click', () => {
  const selected = findings.selected();
  openComment(selected && selected.source !== 'reviewer' ? { parent: selected } : {});
});
$('#export-open').addEventListener('click', () => exporter.open());
$('#reset-decisions').addEventListener('click', async () => {
  const ok = await confirmDialog('Put every accepted and rejected finding back to pending? Your own comments stay.', {
    title: 'Reset decisions',
    confirmLabel: 'Reset',
  });
  if (!ok) return;
  try {
    const answer = await findings.resetDecisions();
    toast(`${(answer && answer.reset) || 0} decisions reset.`, 'success');
  } catch (e) {
    toastError(e, 'Could not reset');
  }
});

// ---- Keyboard ---------------------------------------------------------------------------------------

function withSelected(fn) {
  const f = findings.selected();
  if (f) fn(f);
  else toast('Select a finding first (J / K).', 'info');
}

bind('n', 'Next section', () => sections.step(1, { focus: true }));
bind('p', 'Previous section', () => sections.step(-1, { focus: true }));
bind('j', 'Next finding', () => {
  showTab('findings');
  findings.move(1);
});
bind('k', 'Previous finding', () => {
  showTab('findings');
  findings.move(-1);
});
bind('a', 'Accept the selected finding', () => withSelected((f) => findings.decide(f.id, 'accepted')));
bind('r', 'Reject the selected finding', () => withSelected((f) => findings.decide(f.id, 'rejected')));
bind('u', 'Undo the decision (back to pending)', () => withSelected((f) => findings.decide(f.id, 'pending')));
bind('c', 'Comment (on the selected text, the selected finding, or the section)', () => {
  if (sections.lastSelection) openComment({ selection: sections.lastSelection });
  else {
    const f = findings.selected();
    openComment(f && f.source !== 'reviewer' ? { parent: f } : {});
  }
});
bind('/', 'Ask the chat', () => {
  showTab('chat');
  chat.focus();
});

// ---- Start ------------------------------------------------------------------------------------------

follow();
findings.load().catch((e) => toastError(e, 'Could not load findings'));
chat.load().catch((e) => {
  clear($('#chat-log')).append(h('li', { class: 'muted small', text: `Chat history unavailable: ${e.message}` }));
});
