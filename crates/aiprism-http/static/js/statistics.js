// One document's statistics page: totals, charts (risk, decisions by section, decisions over time,
// top categories) and the activity log with a CSV download.
import './shell.js';
import { api } from './api.js';
import { $, percent } from './dom.js';
import { renderActivity } from './activity-log.js';
import { barChart, lineChart, stackedBars, statCards } from './charts.js';

const root = $('#statistics');
const id = encodeURIComponent(root.dataset.documentId);
const status = $('#stats-status');

const RISKS = [
  ['high', 'High', 'bar-high'],
  ['medium', 'Medium', 'bar-medium'],
  ['low', 'Low', 'bar-low'],
];
const DECISIONS = [
  { key: 'accepted', label: 'Accepted', cls: 'bar-accepted' },
  { key: 'rejected', label: 'Rejected', cls: 'bar-rejected' },
  { key: 'pending', label: 'Pending', cls: 'bar-pending' },
];

async function loadStatistics() {
  const s = await api.get(`/api/v1/documents/${id}/statistics`);
  const byStatus = s.by_status || {};
  const coverage = s.coverage || {};
  const usage = s.usage || {};
  statCards($('#stat-cards'), [
    ['Findings', coverage.findings_total ?? (byStatus.pending || 0) + (byStatus.accepted || 0) + (byStatus.rejected || 0)],
    ['Accepted', byStatus.accepted || 0],
    ['Rejected', byStatus.rejected || 0],
    ['Pending', byStatus.pending || 0],
    ['Acceptance rate', s.acceptance_rate === null || s.acceptance_rate === undefined ? '–' : percent(s.acceptance_rate), 'accepted of decided'],
    ['Sections reviewed', `${coverage.sections_reviewed ?? 0} / ${coverage.sections_total ?? 0}`],
    ['Reviewer comments', s.reviewer_comments || 0],
    ['Model cost', `$${(usage.cost_usd || 0).toFixed(4)}`, `${usage.input_tokens || 0} in · ${usage.output_tokens || 0} out tokens`],
  ]);
  const byRisk = s.by_risk || {};
  barChart($('#chart-risk'), RISKS.map(([key, label, cls]) => ({ label, value: byRisk[key] || 0, cls })), { label: 'Findings by risk' });
  stackedBars(
    $('#chart-sections'),
    (s.by_section || []).map((r) => ({ label: `${r.index + 1}. ${r.title}`, parts: DECISIONS.map((d) => ({ key: d.key, value: r[d.key] || 0 })) })),
    DECISIONS,
    { label: 'Decisions by section' },
  );
  lineChart($('#chart-timeline'), s.timeline || [], DECISIONS.slice(0, 2), { label: 'Decisions per day' });
  barChart(
    $('#chart-categories'),
    (s.by_category || []).slice().sort((a, b) => b.total - a.total).slice(0, 10).map((c) => ({ label: c.category || '(none)', value: c.total, cls: 'bar-default' })),
    { label: 'Top categories' },
  );
}

async function loadActivity() {
  const answer = await api.get(`/api/v1/documents/${id}/activity?format=json`);
  renderActivity('#activity-rows', answer.activity || []);
}

const results = await Promise.allSettled([loadStatistics(), loadActivity()]);
const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason.message);
status.textContent = failed.length ? `Some statistics could not be loaded: ${failed.join(' ')}` : '';
status.classList.toggle('error-text', failed.length > 0);
