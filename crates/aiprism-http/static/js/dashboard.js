// The dashboard: statistics across the reader's documents and the model chain's state (limits,
// cooldowns, usage, cost), with a button to clear cooldowns.
import './shell.js';
import { api } from './api.js';
import { $, clear, h } from './dom.js';
import { barChart, lineChart, statCards } from './charts.js';
import { toast, toastError } from './toast.js';
import { renderActivity } from './activity-log.js';

const status = $('#dashboard-status');

async function loadStatistics() {
  const s = await api.get('/api/v1/statistics');
  const findings = s.findings;
  const total = typeof findings === 'number' ? findings : (findings && findings.total) || 0;
  statCards($('#stat-cards'), [
    ['Documents', s.documents ?? 0],
    ['Findings', total],
  ]);
  const risk = s.by_risk || {};
  barChart(
    $('#chart-risk'),
    [
      { label: 'High', value: risk.high || 0, cls: 'bar-high' },
      { label: 'Medium', value: risk.medium || 0, cls: 'bar-medium' },
      { label: 'Low', value: risk.low || 0, cls: 'bar-low' },
    ],
    { label: 'Findings by risk' },
  );
  lineChart(
    $('#chart-trend'),
    s.trend || [],
    [
      { key: 'findings', label: 'Findings', cls: 'bar-default' },
      { key: 'accepted', label: 'Accepted', cls: 'bar-accepted' },
      { key: 'rejected', label: 'Rejected', cls: 'bar-rejected' },
    ],
    { label: 'Findings and decisions per day' },
  );
  barChart(
    $('#chart-categories'),
    (s.recurring_categories || []).slice(0, 10).map((c) => ({ label: c.category || '(none)', value: c.findings, cls: 'bar-default' })),
    { label: 'Recurring categories (findings)' },
  );
  barChart(
    $('#chart-checkpoints'),
    (s.checkpoints || []).slice(0, 10).map((c) => ({ label: c.checkpoint, value: c.findings, cls: 'bar-medium' })),
    { label: 'Findings by checkpoint' },
  );
}

function limits(e) {
  const part = (value, unit) => (value ? `${value} ${unit}` : `unlimited ${unit}`);
  return `${part(e.requests_per_minute, 'req/min')} · ${part(e.tokens_per_minute, 'tokens/min')} · ${part(e.max_concurrency, 'concurrent')}`;
}

function state(e) {
  if (e.disabled_reason) return `Disabled: ${e.disabled_reason}`;
  if (e.cooldown_remaining_ms) return `Cooling down (${Math.ceil(e.cooldown_remaining_ms / 1000)} s left)`;
  return e.in_flight ? `Ready · ${e.in_flight} in flight` : 'Ready';
}

function renderModels(answer) {
  const rows = $('#model-rows');
  clear(rows);
  const notice = $('#models-notice');
  notice.hidden = !answer.notice;
  notice.textContent = answer.notice || '';
  for (const e of answer.endpoints || []) {
    const usage = e.usage || {};
    rows.append(
      h(
        'tr',
        {},
        h('td', {}, h('strong', { text: e.name }), h('div', { class: 'small muted', text: `${e.provider} · ${e.model} · priority ${e.priority}` })),
        h('td', { class: 'small', text: limits(e) }),
        h('td', { class: e.disabled_reason ? 'error-text' : '' }, state(e), e.last_error ? h('div', { class: 'small muted', text: `Last error: ${e.last_error}` }) : null),
        h('td', { class: 'small', text: `${e.calls} calls · ${e.successes} ok · ${e.throttles} throttled · ${e.errors} errors` }),
        h('td', { class: 'small', text: `${usage.input_tokens || 0} in · ${usage.output_tokens || 0} out · ${usage.cached_tokens || 0} cached · $${(usage.cost_usd || 0).toFixed(4)}` }),
      ),
    );
  }
  if (!rows.children.length) {
    rows.append(h('tr', {}, h('td', { attrs: { colspan: 5 }, class: 'muted', text: 'No model configured: the built-in rule reviewer runs alone.' })));
  }
}

$('#reset-cooldowns').addEventListener('click', async () => {
  try {
    renderModels(await api.post('/api/v1/models/reset', {}));
    toast('Cooldowns cleared.', 'success');
  } catch (e) {
    toastError(e, 'Could not reset');
  }
});

/** The newest entries of the trail across the user's documents, each linked to its document. */
async function loadActivity() {
  const [log, list] = await Promise.all([api.get('/api/v1/activity?limit=50'), api.get('/api/v1/documents')]);
  const names = new Map((list.documents || []).map((d) => [d.id, d.filename]));
  renderActivity('#recent-activity-rows', log.activity || [], names);
}

const results = await Promise.allSettled([
  loadStatistics(),
  api.get('/api/v1/models').then(renderModels),
  loadActivity(),
]);
const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason.message);
status.textContent = failed.length ? `Some data could not be loaded: ${failed.join(' ')}` : '';
status.classList.toggle('error-text', failed.length > 0);
