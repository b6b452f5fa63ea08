// The documents page: upload (picker or drag-and-drop, checked before sending), framework upload,
// live status of running reviews, and delete with confirmation.
import './shell.js';
import { api } from './api.js';
import { $, $$, h, clear, formatTime } from './dom.js';
import { toast, toastError } from './toast.js';
import { confirmDialog } from './dialog.js';
import { followReview, isTerminal } from './progress.js';

const ACCEPTED = ['docx', 'md', 'markdown', 'txt'];

const form = $('#upload-form');
const fileInput = $('#file-input');
const guidelinesInput = $('#guidelines');
const dropZone = $('#drop-zone');
const fileName = $('#file-name');
const uploadButton = $('#upload-button');
const uploadStatus = $('#upload-status');
const maxBytes = Number(form.dataset.maxBytes);
const maxLabel = form.dataset.maxLabel;

let chosen = null;

function extension(name) {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1).toLowerCase();
}

/** Checks type and size before anything is sent; answers a message for the reader, or null. */
function problemWith(file, what) {
  if (!file) return null;
  if (!ACCEPTED.includes(extension(file.name))) {
    return `${what} “${file.name}” is not a .docx, .md or .txt file.`;
  }
  if (file.size === 0) return `${what} “${file.name}” is empty.`;
  if (file.size > maxBytes) return `${what} “${file.name}” is larger than the limit of ${maxLabel}.`;
  return null;
}

function choose(file) {
  const problem = problemWith(file, 'The file');
  if (problem) {
    chosen = null;
    fileName.textContent = problem;
    fileName.classList.add('error-text');
    uploadButton.disabled = true;
    toast(problem, 'error');
    return;
  }
  chosen = file;
  fileName.classList.remove('error-text');
  fileName.textContent = file ? `${file.name} (${Math.ceil(file.size / 1024)} KB)` : `No file chosen. Up to ${maxLabel}.`;
  uploadButton.disabled = !file;
}

fileInput.addEventListener('change', () => choose(fileInput.files[0] || null));

for (const type of ['dragenter', 'dragover']) {
  dropZone.addEventListener(type, (event) => {
    event.preventDefault();
    dropZone.classList.add('dragging');
  });
}
for (const type of ['dragleave', 'drop']) {
  dropZone.addEventListener(type, () => dropZone.classList.remove('dragging'));
}
dropZone.addEventListener('drop', (event) => {
  event.preventDefault();
  const files = event.dataTransfer && event.dataTransfer.files;
  if (files && files.length) choose(files[0]);
});

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!chosen) {
    toast('Choose a document first.', 'warning');
    return;
  }
  const guidelines = guidelinesInput.files[0] || null;
  const problem = problemWith(guidelines, 'The guidelines file');
  if (problem) {
    toast(problem, 'error');
    return;
  }
  const data = new FormData();
  data.append('file', chosen, chosen.name);
  data.append('framework', $('#framework').value);
  const type = $('#document-type').value.trim();
  if (type) data.append('document_type', type);
  if (guidelines) data.append('guidelines', guidelines, guidelines.name);
  data.append('review', $('#start-review').checked ? 'true' : 'false');
  uploadButton.disabled = true;
  uploadStatus.textContent = `Uploading ${chosen.name}…`;
  try {
    const uploaded = await api.upload('/api/v1/documents', data);
    uploadStatus.textContent = 'Uploaded. Opening the review…';
    window.location.assign(`/documents/${encodeURIComponent(uploaded.id)}`);
  } catch (e) {
    uploadStatus.textContent = '';
    uploadButton.disabled = false;
    toastError(e, 'Upload refused');
  }
});

$('#framework-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const file = $('#framework-file').files[0];
  if (!file) {
    toast('Choose a framework file (.toml) first.', 'warning');
    return;
  }
  const data = new FormData();
  data.append('file', file, file.name);
  try {
    const framework = await api.upload('/api/v1/frameworks', data);
    await refreshFrameworks(framework && framework.id);
    toast(`Framework “${(framework && framework.name) || file.name}” added.`, 'success');
  } catch (e) {
    toastError(e, 'Framework refused');
  }
});

async function refreshFrameworks(select) {
  const answer = await api.get('/api/v1/frameworks');
  const list = Array.isArray(answer) ? answer : answer.frameworks || [];
  const picker = $('#framework');
  const current = select || picker.value;
  clear(picker);
  for (const f of list) picker.append(h('option', { value: f.id, text: f.name || f.id, selected: f.id === current }));
}

// Delete with confirmation.
const table = $('#documents-table');
if (table) {
  table.addEventListener('click', async (event) => {
    const button = event.target.closest('button[data-action="delete"]');
    if (!button) return;
    const row = button.closest('tr');
    const name = button.dataset.filename;
    const ok = await confirmDialog(`Delete “${name}” with its findings, comments and exports? This cannot be undone.`, {
      title: 'Delete document',
      confirmLabel: 'Delete',
    });
    if (!ok) return;
    try {
      await api.del(`/api/v1/documents/${encodeURIComponent(row.dataset.documentId)}`);
      row.remove();
      toast(`Deleted “${name}”.`, 'success');
      if (!$$('tbody tr', table).length) {
        table.closest('.table-wrap').replaceWith(h('p', { id: 'empty-list', class: 'muted', text: 'No documents yet. Upload one above to start.' }));
      }
    } catch (e) {
      toastError(e, 'Could not delete');
    }
  });
}

// Show times in the reader's zone and follow running reviews.
for (const time of $$('time[datetime]')) time.textContent = formatTime(time.getAttribute('datetime'));
for (const row of $$('tr[data-running="true"]')) {
  const status = $('[data-status]', row);
  const bar = $('progress', row);
  const text = $('[data-progress-text]', row);
  followReview(row.dataset.reviewId, {
    onReview(review) {
      status.textContent = review.status;
      status.className = `status status-${review.status}`;
      if (bar) {
        bar.max = review.progress.sections_total || 1;
        bar.value = review.progress.sections_done;
      }
      if (text) text.textContent = `${review.progress.sections_done} of ${review.progress.sections_total} sections`;
      if (isTerminal(review.status)) {
        if (bar) bar.remove();
        if (text) text.remove();
      }
    },
  });
}
