// The chat panel: history from the server, questions sent with the current section as context, the
// answer streamed token by token (a POST answered with text/event-stream, read with fetch), and
// replies rendered as escaped text with light formatting built from DOM nodes, never parsed as markup.
import { ApiError, api, errorFrom, withCsrf } from './api.js';
import { readEvents } from './sse.js';
import { $, clear, formatTime, h } from './dom.js';
import { toastError } from './toast.js';

/** `**bold**` and `code` inside one line, as nodes. */
function inline(text) {
  const nodes = [];
  const pattern = /\*\*([^*]+)\*\*|`([^`]+)`/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) nodes.push(text.slice(last, match.index));
    nodes.push(match[1] !== undefined ? h('strong', { text: match[1] }) : h('code', { text: match[2] }));
    last = match.index + match[0].length;
  }
  if (last < text.length) nodes.push(text.slice(last));
  return nodes;
}

/** Paragraphs, bullet and numbered lists, **bold** and `code`, from plain text. */
export function formatReply(text) {
  const out = [];
  const blocks = text.replace(/\r\n?/g, '\n').split(/\n{2,}/);
  for (const block of blocks) {
    const lines = block.split('\n').filter((l) => l.trim() !== '');
    if (!lines.length) continue;
    let i = 0;
    while (i < lines.length) {
      const bullet = /^\s*(?:[-*•])\s+(.*)$/;
      const numbered = /^\s*\d+[.)]\s+(.*)$/;
      const kind = bullet.test(lines[i]) ? 'ul' : numbered.test(lines[i]) ? 'ol' : 'p';
      if (kind === 'p') {
        const para = [];
        while (i < lines.length && !bullet.test(lines[i]) && !numbered.test(lines[i])) para.push(lines[i++]);
        const p = h('p');
        para.forEach((line, n) => {
          if (n) p.append(h('br'));
          p.append(...inline(line));
        });
        out.push(p);
      } else {
        const re = kind === 'ul' ? bullet : numbered;
        const list = h(kind);
        while (i < lines.length && re.test(lines[i])) list.append(h('li', {}, inline(lines[i++].match(re)[1])));
        out.push(list);
      }
    }
  }
  return out;
}

export class ChatPanel {
  /** `sections`: the SectionView (current section and citations' targets). */
  constructor({ documentId, sections }) {
    this.documentId = documentId;
    this.sections = sections;
    this.log = $('#chat-log');
    this.form = $('#chat-form');
    this.input = $('#chat-input');
    this.send = $('#chat-send');
    this.busy = false;
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.ask();
    });
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.ask();
      }
    });
    sections.onChange(() => this.showContext());
    this.showContext();
  }

  showContext() {
    $('#chat-context').textContent = `(about: ${this.sections.current.title})`;
  }

  async load() {
    const answer = await api.get(`/api/v1/documents/${encodeURIComponent(this.documentId)}/chat`);
    clear(this.log);
    for (const message of answer.messages || []) this.log.append(this.bubble(message));
    if (!this.log.children.length) {
      this.log.append(h('li', { class: 'chat-empty muted small', text: 'Ask anything about this document; the section you are reading is sent along.' }));
    }
    this.scroll();
  }

  scroll() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  bubble(message) {
    const mine = message.role === 'user';
    const body = h('div', { class: 'chat-body' });
    if (mine) body.append(h('p', { text: message.content }));
    else body.append(...formatReply(message.content || ''));
    const citations = (message.citations || []).map((id) => {
      const section = this.sections.section(id);
      if (!section) return null;
      return h('a', {
        href: `?section=${encodeURIComponent(id)}`,
        class: 'citation',
        text: `§${section.index + 1} ${section.title}`,
        on: {
          click: (event) => {
            event.preventDefault();
            this.sections.show(id, { focus: true });
          },
        },
      });
    });
    return h(
      'li',
      { class: `chat-message ${mine ? 'from-user' : 'from-assistant'}`, dataset: { messageId: message.id || '' } },
      h('p', { class: 'chat-meta small muted' }, mine ? 'You' : `aiprism${message.model ? ` (${message.model})` : ''}`, message.created_at ? ` · ${formatTime(message.created_at)}` : ''),
      body,
      citations.some(Boolean) ? h('p', { class: 'citations small' }, 'Sections: ', citations.filter(Boolean)) : null,
    );
  }

  /** Focuses the question box. */
  focus() {
    this.input.focus();
  }

  async ask() {
    const message = this.input.value.trim();
    if (!message || this.busy) return;
    this.busy = true;
    this.send.disabled = true;
    const empty = $('.chat-empty', this.log);
    if (empty) empty.remove();
    this.log.append(this.bubble({ role: 'user', content: message, created_at: new Date().toISOString() }));
    const live = h('div', { class: 'chat-body streaming', attrs: { 'aria-busy': 'true' } }, h('p', { class: 'muted', text: 'Thinking…' }));
    const pending = h('li', { class: 'chat-message from-assistant' }, h('p', { class: 'chat-meta small muted', text: 'aiprism' }), live);
    this.log.append(pending);
    this.scroll();
    this.input.value = '';
    try {
      const response = await fetch(`/api/v1/documents/${encodeURIComponent(this.documentId)}/chat`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: withCsrf({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
        body: JSON.stringify({ message, section_id: this.sections.current.id }),
      }).catch(() => {
        throw new ApiError(0, 'network', 'Could not reach the server. Check your connection and try again.');
      });
      if (!response.ok) throw await errorFrom(response);
      let text = '';
      let finished = false;
      for await (const event of readEvents(response)) {
        const data = JSON.parse(event.data);
        if (event.event === 'token') {
          text += data.text || '';
          clear(live);
          live.append(h('p', { text }));
          this.scroll();
        } else if (event.event === 'message') {
          pending.replaceWith(this.bubble(data));
          finished = true;
        } else if (event.event === 'error') {
          throw new ApiError(502, 'chat_error', data.message || 'The model could not answer.');
        }
      }
      if (!finished) throw new ApiError(502, 'chat_incomplete', 'The answer stopped before it was complete. Try again.');
    } catch (e) {
      clear(live);
      live.removeAttribute('aria-busy');
      live.append(h('p', { class: 'error-text', text: e.message || 'The model could not answer.' }));
      toastError(e, 'Chat');
      if (!this.input.value) this.input.value = message;
    } finally {
      this.busy = false;
      this.send.disabled = false;
      this.scroll();
    }
  }
}
