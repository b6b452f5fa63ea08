// The export dialog: an honest summary before exporting (what will and will not be in the file), the
// options, then `POST /api/v1/documents/{id}/exports` and the download (or the S3 location).
import { api } from './api.js';
import { $, clear, download, h } from './dom.js';
import { openDialog } from './dialog.js';
import { toast, toastError } from './toast.js';

export class ExportDialog {
  /** `tally()` answers {accepted, rejected, pending, comments} from the findings the page holds. */
  constructor({ documentId, s3Enabled, tally }) {
    this.documentId = documentId;
    this.tally = tally;
    this.dialog = $('#export-dialog');
    this.form = $('#export-form');
    this.result = $('#export-result');
    $('#export-destination').hidden = !s3Enabled;
    this.form.addEventListener('change', () => this.summarise());
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.run();
    });
  }

  open() {
    clear(this.result);
    this.summarise();
    openDialog(this.dialog, { focus: $('#export-submit') });
  }

  summarise() {
    const t = this.tally();
    const includePending = $('#export-include-pending').checked;
    const summary = $('#export-summary');
    clear(summary);
    const rows = [
      ['Accepted findings', t.accepted, 'will be comments'],
      ['Reviewer comments', t.comments, 'will be comments'],
      ['Pending findings', t.pending, includePending ? 'will be comments marked “pending”' : 'left out'],
      ['Rejected findings', t.rejected, 'left out'],
    ];
    for (const [label, count, fate] of rows) {
      summary.append(h('dt', { text: label }), h('dd', {}, h('strong', { text: String(count) }), ` · ${fate}`));
    }
    const warning = $('#export-warning');
    const nothing = t.accepted === 0 && t.comments === 0 && !(includePending && t.pending > 0);
    warning.hidden = !nothing;
    warning.textContent = nothing
      ? 'Nothing is accepted yet: the exported document will have no comments. Accept findings, add comments, or include pending findings.'
      : '';
  }

  async run() {
    const data = new FormData(this.form);
    const body = {
      kind: data.get('kind') || 'docx',
      destination: data.get('destination') || 'download',
      include_pending: $('#export-include-pending').checked,
      tracked_changes: $('#export-tracked-changes').checked,
    };
    const submit = $('#export-submit');
    submit.disabled = true;
    clear(this.result).append(h('p', { class: 'muted', text: 'Exporting…' }));
    try {
      const created = await api.post(`/api/v1/documents/${encodeURIComponent(this.documentId)}/exports`, body);
      const done = await this.whenReady(created);
      clear(this.result);
      const written = done.comments_written !== undefined && done.comments_written !== null ? ` with ${done.comments_written} comments` : '';
      if (body.destination === 's3') {
        this.result.append(h('p', {}, `Exported ${done.filename}${written} to `, h('code', { text: done.location || 'S3' }), '.'));
        toast('Exported to S3.', 'success');
      } else {
        const url = `/api/v1/exports/${encodeURIComponent(done.id)}/file`;
        this.result.append(h('p', {}, `Ready: ${done.filename}${written}. `, h('a', { href: url, text: 'Download again', attrs: { download: '' } })));
        download(url);
      }
    } catch (e) {
      clear(this.result).append(h('p', { class: 'error-text', text: e.message }));
      toastError(e, 'Export failed');
    } finally {
      submit.disabled = false;
    }
  }

  /** Waits for an export answered before it was finished (202), reading `GET /api/v1/exports/{id}`. */
  async whenReady(exported) {
    let current = exported;
    for (let i = 0; i < 120 && ['queued', 'running', 'pending'].includes(current.status); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      current = await api.get(`/api/v1/exports/${encodeURIComponent(current.id)}`);
    }
    if (current.status === 'failed') throw new Error(current.error || 'The export failed.');
    return current;
  }
}
