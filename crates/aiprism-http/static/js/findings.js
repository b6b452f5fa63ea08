// The findings panel: the document's findings as the server holds them, filtered (status, risk, source,
// confidence) and sorted for display, with decisions, edits and reviewer comments sent to the API.
// The filters live in the URL, so a reload shows the same view.
import { api } from './api.js';
import { $, clear, h } from './dom.js';
import { toast, toastError } from './toast.js';
import { findingCard } from './finding-card.js';

const RISK_ORDER = { high: 0, medium: 1, low: 2 };
const FILTER_KEYS = ['status', 'risk', 'source', 'sort', 'confidence', 'all'];

export class FindingsPanel {
  /**
   * `sections`: the SectionView (for titles, positions and the current section); `minConfidence`: the
   * server's default threshold; `onQuote(id)`: show a finding's quote; `onEdit(f)`, `onComment(opts)`:
   * open the dialogs.
   */
  constructor({ documentId, sections, minConfidence, onQuote, onEdit, onComment }) {
    this.documentId = documentId;
    this.sections = sections;
    this.defaultConfidence = minConfidence;
    this.onQuote = onQuote;
    this.onEdit = onEdit;
    this.onComment = onComment;
    this.findings = new Map();
    this.selectedId = null;
    this.listeners = [];
    this.list = $('#findings-list');
    this.summary = $('#findings-summary');
    this.form = $('#findings-filters');
    this.filters = this.readUrlFilters();
    this.writeForm();
    this.form.addEventListener('input', () => this.readForm());
    this.form.addEventListener('change', () => this.readForm());
    this.form.addEventListener('submit', (event) => event.preventDefault());
    this.handlers = {
      decide: (id, status) => this.decide(id, status),
      edit: (id) => this.onEdit(this.findings.get(id)),
      comment: (id) => this.onComment({ parent: this.findings.get(id) }),
      remove: (id) => this.remove(id),
      showQuote: (id) => this.onQuote(id),
      select: (id) => this.select(id, { focus: false }),
    };
  }

  /** Calls `fn()` after the set of findings changed. */
  onChange(fn) {
    this.listeners.push(fn);
  }

  changed() {
    this.render();
    for (const fn of this.listeners) fn();
  }

  readUrlFilters() {
    const params = new URL(window.location.href).searchParams;
    const confidence = Number.parseFloat(params.get('confidence'));
    return {
      status: params.get('status') || '',
      risk: params.get('risk') || '',
      source: params.get('source') || '',
      sort: params.get('sort') || 'position',
      confidence: Number.isFinite(confidence) ? confidence : this.defaultConfidence,
      all: params.get('all') === '1',
    };
  }

  writeForm() {
    const f = this.form.elements;
    f.status.value = this.filters.status;
    f.risk.value = this.filters.risk;
    f.source.value = this.filters.source;
    f.sort.value = this.filters.sort;
    f.confidence.value = String(this.filters.confidence);
    f.all.checked = this.filters.all;
    $('#confidence-value').textContent = this.filters.confidence.toFixed(2);
  }

  readForm() {
    const f = this.form.elements;
    this.filters = {
      status: f.status.value,
      risk: f.risk.value,
      source: f.source.value,
      sort: f.sort.value,
      confidence: Number.parseFloat(f.confidence.value),
      all: f.all.checked,
    };
    $('#confidence-value').textContent = this.filters.confidence.toFixed(2);
    const url = new URL(window.location.href);
    for (const key of FILTER_KEYS) url.searchParams.delete(key);
    const defaults = { status: '', risk: '', source: '', sort: 'position', confidence: this.defaultConfidence, all: false };
    for (const key of FILTER_KEYS) {
      if (this.filters[key] !== defaults[key]) url.searchParams.set(key, key === 'all' ? '1' : String(this.filters[key]));
    }
    window.history.replaceState(window.history.state, '', url);
    this.changed();
  }

  /** Loads every finding of the document (filters apply in the page, so changing them is instant). */
  async load() {
    const answer = await api.get(`/api/v1/documents/${encodeURIComponent(this.documentId)}/findings`);
    this.findings = new Map(answer.findings.map((f) => [f.id, f]));
    this.changed();
  }

  /** Reloads one section's findings (new ones arrive while a review runs). */
  async refreshSection(sectionId) {
    const answer = await api.get(
      `/api/v1/documents/${encodeURIComponent(this.documentId)}/findings?section=${encodeURIComponent(sectionId)}`,
    );
    for (const [id, f] of this.findings) if (f.section_id === sectionId) this.findings.delete(id);
    for (const f of answer.findings) this.findings.set(f.id, f);
    this.changed();
  }

  /** Whether a finding passes the confidence threshold (reviewer comments always do). */
  passesConfidence(f) {
    return f.source === 'reviewer' || f.confidence + 1e-9 >= this.filters.confidence;
  }

  /** Top-level findings (not replies) shown under the current filters. */
  visible() {
    const current = this.sections.current.id;
    const shown = [...this.findings.values()].filter(
      (f) =>
        !f.parent_id &&
        (this.filters.all || f.section_id === current) &&
        (!this.filters.status || f.status === this.filters.status) &&
        (!this.filters.risk || f.risk === this.filters.risk) &&
        (!this.filters.source || f.source === this.filters.source) &&
        this.passesConfidence(f),
    );
    return shown.sort((a, b) => this.compare(a, b));
  }

  position(f) {
    const section = this.sections.section(f.section_id);
    const at = section ? this.sections.locate(f.section_id, f.quote) : null;
    return [section ? section.index : 1e9, at ? at[0] : 1e9];
  }

  compare(a, b) {
    // Categories the reviewer keeps rejecting go last, whatever the sort.
    if (Boolean(a.downranked) !== Boolean(b.downranked)) return a.downranked ? 1 : -1;
    if (this.filters.sort === 'risk' && RISK_ORDER[a.risk] !== RISK_ORDER[b.risk]) return RISK_ORDER[a.risk] - RISK_ORDER[b.risk];
    if (this.filters.sort === 'confidence' && a.confidence !== b.confidence) return b.confidence - a.confidence;
    const [pa, pb] = [this.position(a), this.position(b)];
    return pa[0] - pb[0] || pa[1] - pb[1] || a.created_at.localeCompare(b.created_at);
  }

  /** Per-section counts for the navigation badges (findings at or above the threshold). */
  countsBySection() {
    const counts = new Map();
    for (const f of this.findings.values()) {
      if (f.parent_id || !this.passesConfidence(f)) continue;
      const c = counts.get(f.section_id) || { total: 0, pending: 0, risk: null };
      c.total += 1;
      if (f.status === 'pending') c.pending += 1;
      if (f.status !== 'rejected' && f.source !== 'reviewer' && (c.risk === null || RISK_ORDER[f.risk] < RISK_ORDER[c.risk])) c.risk = f.risk;
      counts.set(f.section_id, c);
    }
    return counts;
  }

  /** Findings to highlight in a section's text. */
  highlightsFor(sectionId) {
    return [...this.findings.values()].filter((f) => f.section_id === sectionId && f.quote && f.status !== 'rejected' && this.passesConfidence(f));
  }

  render() {
    const focused = document.activeElement;
    const focusCard = focused && focused.closest ? focused.closest('.finding-card') : null;
    const focusAction = focused && focused.dataset ? focused.dataset.action : null;
    const shown = this.visible();
    const replies = new Map();
    for (const f of this.findings.values()) {
      if (f.parent_id) replies.set(f.parent_id, [...(replies.get(f.parent_id) || []), f]);
    }
    clear(this.list);
    for (const f of shown) {
      const title = this.filters.all ? (this.sections.section(f.section_id) || {}).title : null;
      this.list.append(
        findingCard(f, { children: replies.get(f.id) || [], selected: f.id === this.selectedId, sectionTitle: title, handlers: this.handlers }),
      );
    }
    if (!shown.length) {
      const hidden = [...this.findings.values()].filter((f) => !f.parent_id && f.section_id === this.sections.current.id && !this.passesConfidence(f)).length;
      this.list.append(
        h('li', { class: 'empty muted', text: hidden ? `No findings shown. ${hidden} below the confidence threshold: lower it to see them.` : 'No findings here.' }),
      );
    }
    const all = [...this.findings.values()].filter((f) => !f.parent_id);
    const decided = all.filter((f) => f.status !== 'pending').length;
    this.summary.textContent = `${shown.length} shown · ${all.length} in the document · ${decided} decided`;
    if (focusCard && this.list.contains(focusCard) === false && focusAction) {
      const again = this.list.querySelector(`[data-finding-id="${CSS.escape(focusCard.dataset.findingId)}"] [data-action="${focusAction}"]`)
        || this.list.querySelector(`[data-finding-id="${CSS.escape(focusCard.dataset.findingId)}"]`);
      if (again) again.focus();
    }
  }

  /** Selects a finding (J/K, clicks); `focus` moves keyboard focus to its card. */
  select(id, { focus = true } = {}) {
    if (this.selectedId === id) return;
    this.selectedId = id;
    for (const card of this.list.querySelectorAll('.finding-card')) {
      const on = card.dataset.findingId === id;
      card.classList.toggle('selected', on);
      if (on) card.setAttribute('aria-current', 'true');
      else card.removeAttribute('aria-current');
      if (on && focus) {
        card.focus();
        card.scrollIntoView({ block: 'nearest' });
      }
    }
  }

  /** Moves the selection by `delta` cards. */
  move(delta) {
    const shown = this.visible();
    if (!shown.length) return;
    const at = shown.findIndex((f) => f.id === this.selectedId);
    const next = at < 0 ? (delta > 0 ? 0 : shown.length - 1) : Math.min(shown.length - 1, Math.max(0, at + delta));
    this.selectedId = null;
    this.select(shown[next].id);
  }

  /** The selected finding, if it is shown. */
  selected() {
    return this.visible().find((f) => f.id === this.selectedId) || null;
  }

  /** Records a decision (accepted, rejected, or pending to undo). */
  async decide(id, status) {
    const f = this.findings.get(id);
    if (!f || f.source === 'reviewer') return;
    try {
      const updated = await api.post(`/api/v1/findings/${encodeURIComponent(id)}/decision`, { status });
      this.findings.set(id, updated);
      this.changed();
    } catch (e) {
      toastError(e, 'Decision not saved');
    }
  }

  /** Saves a reviewer's edit of a finding. */
  async edit(id, changes) {
    const updated = await api.patch(`/api/v1/findings/${encodeURIComponent(id)}`, changes);
    this.findings.set(id, updated);
    this.changed();
    toast('Finding updated.', 'success');
  }

  /** Adds a reviewer comment (on a section, a selected span, or another finding). */
  async comment(body) {
    const created = await api.post(`/api/v1/documents/${encodeURIComponent(this.documentId)}/comments`, body);
    this.findings.set(created.id, created);
    this.changed();
    toast('Comment added.', 'success');
    return created;
  }

  /** Deletes a reviewer comment. */
  async remove(id) {
    try {
      await api.del(`/api/v1/findings/${encodeURIComponent(id)}`);
      this.findings.delete(id);
      for (const [key, f] of this.findings) if (f.parent_id === id) this.findings.delete(key);
      this.changed();
      toast('Comment deleted.', 'success');
    } catch (e) {
      toastError(e, 'Could not delete');
    }
  }

  /** Puts every decision back to pending (reviewer comments stay). */
  async resetDecisions() {
    const answer = await api.post(`/api/v1/documents/${encodeURIComponent(this.documentId)}/decisions/reset`, {});
    await this.load();
    return answer;
  }

  /** Counts for the export summary. */
  tally() {
    const all = [...this.findings.values()];
    const review = all.filter((f) => f.source !== 'reviewer');
    return {
      accepted: review.filter((f) => f.status === 'accepted').length,
      rejected: review.filter((f) => f.status === 'rejected').length,
      pending: review.filter((f) => f.status === 'pending').length,
      comments: all.filter((f) => f.source === 'reviewer').length,
    };
  }
}
