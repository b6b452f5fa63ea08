// The section view: navigation between sections (list, previous / next, the URL), the section text
// with findings' quotes highlighted, and text selection for anchored comments.
//
// The server renders every section as one <p> per line of its text, so the exact section text is the
// lines joined by "\n" and quotes (exact substrings of it) can be found and mapped back to the lines.
import { $, $$, h, clear } from './dom.js';

export class SectionView {
  constructor(root) {
    this.root = root;
    this.sections = $$('.doc-section', root).map((article) => {
      const textEl = $('[data-text]', article);
      const lines = $$(':scope > p', textEl).map((p) => p.textContent);
      const starts = [];
      let at = 0;
      for (const line of lines) {
        starts.push(at);
        at += line.length + 1;
      }
      return {
        id: article.dataset.sectionId,
        index: Number(article.dataset.index),
        title: article.dataset.title,
        excluded: Boolean($('.excluded-note', article)),
        article,
        textEl,
        lines,
        starts,
        text: lines.join('\n'),
        highlightKey: '',
      };
    });
    this.byId = new Map(this.sections.map((s) => [s.id, s]));
    this.current = this.sections.find((s) => !s.article.hidden) || this.sections[0];
    this.listeners = [];
    this.onMarkClick = null;
    this.lastSelection = null;
    this.selectionListeners = [];
    this.wireNavigation();
    this.wireSelection();
  }

  /** Calls `fn(section)` after every change of section. */
  onChange(fn) {
    this.listeners.push(fn);
  }

  /** Calls `fn(selection | null)` when the usable text selection changes. */
  onSelection(fn) {
    this.selectionListeners.push(fn);
  }

  section(id) {
    return this.byId.get(id);
  }

  wireNavigation() {
    const nav = $('#section-nav');
    nav.addEventListener('click', (event) => {
      const link = event.target.closest('a[data-section-id]');
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
      event.preventDefault();
      this.show(link.dataset.sectionId, { focus: true });
    });
    for (const [id, step] of [['#prev-section', -1], ['#next-section', 1]]) {
      $(id).addEventListener('click', (event) => {
        event.preventDefault();
        this.step(step, { focus: false });
      });
    }
    window.addEventListener('popstate', () => {
      const id = new URL(window.location.href).searchParams.get('section');
      if (id && this.byId.has(id)) this.show(id, { push: false });
    });
    this.updateChrome();
  }

  /** Moves `delta` sections forward or back. */
  step(delta, options = {}) {
    const next = this.sections[this.sections.indexOf(this.current) + delta];
    if (next) this.show(next.id, options);
  }

  /** Shows a section; `push` records it in the history, `focus` moves focus to its heading. */
  show(id, { push = true, focus = false } = {}) {
    const target = this.byId.get(id);
    if (!target) return;
    if (target !== this.current) {
      this.current.article.hidden = true;
      target.article.hidden = false;
      this.current = target;
      const url = new URL(window.location.href);
      url.searchParams.set('section', id);
      if (push) window.history.pushState({ section: id }, '', url);
      else window.history.replaceState({ section: id }, '', url);
      this.updateChrome();
      for (const fn of this.listeners) fn(target);
    }
    if (focus) $('.section-title', target.article).focus();
    target.article.scrollIntoView({ block: 'start' });
  }

  updateChrome() {
    const i = this.sections.indexOf(this.current);
    for (const link of $$('#section-nav a[data-section-id]')) {
      if (link.dataset.sectionId === this.current.id) link.setAttribute('aria-current', 'true');
      else link.removeAttribute('aria-current');
    }
    const current = $(`#section-nav a[data-section-id="${CSS.escape(this.current.id)}"]`);
    if (current) current.scrollIntoView({ block: 'nearest' });
    $('#section-position').textContent = `Section ${i + 1} of ${this.sections.length}`;
    const setLink = (el, section) => {
      if (section) {
        el.href = `?section=${encodeURIComponent(section.id)}`;
        el.removeAttribute('aria-disabled');
        el.classList.remove('disabled');
      } else {
        el.removeAttribute('href');
        el.setAttribute('aria-disabled', 'true');
        el.classList.add('disabled');
      }
    };
    setLink($('#prev-section'), this.sections[i - 1]);
    setLink($('#next-section'), this.sections[i + 1]);
  }

  /** Where a quote sits in a section's text ([start, end) or null). */
  locate(sectionId, quote) {
    const section = this.byId.get(sectionId);
    if (!section || !quote) return null;
    const start = section.text.indexOf(quote);
    return start < 0 ? null : [start, start + quote.length];
  }

  /**
   * Highlights quotes in a section: `items` are `{id, quote, cls}`; the first item covering a span
   * decides its colour, and every covering item's id is on the mark.
   */
  setHighlights(sectionId, items) {
    const section = this.byId.get(sectionId);
    if (!section) return;
    const ranges = [];
    for (const item of items) {
      const at = this.locate(sectionId, item.quote);
      if (at) ranges.push({ id: item.id, cls: item.cls, start: at[0], end: at[1] });
    }
    const key = JSON.stringify(ranges);
    if (key === section.highlightKey) return;
    section.highlightKey = key;
    const paragraphs = $$(':scope > p', section.textEl);
    section.lines.forEach((line, n) => {
      const lineStart = section.starts[n];
      const lineEnd = lineStart + line.length;
      const here = ranges.filter((r) => r.start < lineEnd && r.end > lineStart);
      const p = paragraphs[n];
      clear(p);
      if (!here.length) {
        p.textContent = line;
        return;
      }
      const cuts = new Set([0, line.length]);
      for (const r of here) {
        cuts.add(Math.max(0, r.start - lineStart));
        cuts.add(Math.min(line.length, r.end - lineStart));
      }
      const points = [...cuts].sort((a, b) => a - b);
      for (let k = 0; k + 1 < points.length; k += 1) {
        const [a, b] = [points[k], points[k + 1]];
        const piece = line.slice(a, b);
        const covering = here.filter((r) => r.start - lineStart <= a && r.end - lineStart >= b);
        if (!covering.length) {
          p.append(piece);
          continue;
        }
        const mark = h('mark', {
          class: `hl ${covering[0].cls}`,
          text: piece,
          dataset: { findingIds: covering.map((r) => r.id).join(' ') },
        });
        mark.addEventListener('click', () => {
          if (this.onMarkClick) this.onMarkClick(covering[0].id);
        });
        p.append(mark);
      }
    });
  }

  /** Scrolls to a finding's highlighted quote and flashes it; false when it has no highlight. */
  flash(findingId) {
    const marks = $$('mark[data-finding-ids]', this.current.textEl).filter((m) =>
      m.dataset.findingIds.split(' ').includes(findingId),
    );
    if (!marks.length) return false;
    marks[0].scrollIntoView({ block: 'center', behavior: 'smooth' });
    for (const mark of marks) {
      mark.classList.remove('flash');
      // Restart the animation on a repeated click.
      void mark.offsetWidth;
      mark.classList.add('flash');
    }
    return true;
  }

  wireSelection() {
    document.addEventListener('selectionchange', () => {
      const selection = this.readSelection();
      this.lastSelection = selection;
      for (const fn of this.selectionListeners) fn(selection);
    });
  }

  /** The current selection inside the shown section's text, as `{sectionId, start, end, quote}`. */
  readSelection() {
    const selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
    const range = selection.getRangeAt(0);
    const section = this.current;
    if (!section.textEl.contains(range.startContainer) || !section.textEl.contains(range.endContainer)) return null;
    const start = this.offsetOf(section, range.startContainer, range.startOffset);
    const end = this.offsetOf(section, range.endContainer, range.endOffset);
    if (start === null || end === null || end <= start) return null;
    const quote = section.text.slice(start, end);
    if (!quote.trim()) return null;
    return { sectionId: section.id, start, end, quote };
  }

  offsetOf(section, node, offset) {
    const paragraphs = $$(':scope > p', section.textEl);
    if (node === section.textEl) {
      const n = Math.min(offset, paragraphs.length);
      return n < paragraphs.length ? section.starts[n] : section.text.length;
    }
    const element = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
    const p = element && element.closest('p');
    const n = paragraphs.indexOf(p);
    if (n < 0) return null;
    const range = document.createRange();
    range.setStart(p, 0);
    range.setEnd(node, offset);
    return section.starts[n] + range.toString().length;
  }
}
