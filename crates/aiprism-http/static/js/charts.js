// Charts as inline SVG built with DOM methods (no library, no canvas): horizontal bars, stacked bars
// and a small multi-series line chart. Colours come from CSS classes, so they follow the theme; each
// chart has a text alternative (role="img" with a label, and a <title>).
import { clear, h, svg } from './dom.js';

function frame(container, width, height, label) {
  clear(container);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label, class: 'chart-svg', preserveAspectRatio: 'xMinYMin meet' });
  root.append(svg('title', {}, label));
  container.append(root);
  return root;
}

function empty(container, text = 'Nothing to show yet.') {
  clear(container).append(h('p', { class: 'muted small', text }));
}

/** Horizontal bars: `rows` = [{label, value, cls}]. */
export function barChart(container, rows, { label = 'Bar chart', max } = {}) {
  const data = rows.filter((r) => r.value > 0);
  if (!data.length) return empty(container);
  const top = max || Math.max(...data.map((r) => r.value));
  const rowHeight = 26;
  const labelWidth = 150;
  const width = 460;
  const root = frame(container, width, data.length * rowHeight + 8, `${label}: ${data.map((r) => `${r.label} ${r.value}`).join(', ')}`);
  data.forEach((r, i) => {
    const y = i * rowHeight + 4;
    const barWidth = Math.max(2, ((width - labelWidth - 50) * r.value) / top);
    root.append(
      svg('text', { x: 0, y: y + 15, class: 'chart-label' }, r.label.length > 22 ? `${r.label.slice(0, 21)}…` : r.label),
      svg('rect', { x: labelWidth, y, width: barWidth, height: rowHeight - 8, rx: 3, class: `bar ${r.cls || 'bar-default'}` }, svg('title', {}, `${r.label}: ${r.value}`)),
      svg('text', { x: labelWidth + barWidth + 6, y: y + 15, class: 'chart-value' }, String(r.value)),
    );
  });
  return root;
}

/** Stacked horizontal bars: `rows` = [{label, parts: [{key, value}]}], `keys` = [{key, label, cls}]. */
export function stackedBars(container, rows, keys, { label = 'Stacked bars' } = {}) {
  const data = rows.filter((r) => r.parts.some((p) => p.value > 0));
  if (!data.length) return empty(container);
  const top = Math.max(...data.map((r) => r.parts.reduce((s, p) => s + p.value, 0)));
  const rowHeight = 24;
  const labelWidth = 170;
  const width = 460;
  const legendHeight = 24;
  const root = frame(container, width, data.length * rowHeight + legendHeight + 8, label);
  keys.forEach((k, i) => {
    root.append(
      svg('rect', { x: i * 110, y: 4, width: 12, height: 12, class: `bar ${k.cls}` }),
      svg('text', { x: i * 110 + 16, y: 15, class: 'chart-label' }, k.label),
    );
  });
  data.forEach((r, i) => {
    const y = legendHeight + i * rowHeight + 4;
    let x = labelWidth;
    root.append(svg('text', { x: 0, y: y + 13, class: 'chart-label' }, r.label.length > 24 ? `${r.label.slice(0, 23)}…` : r.label));
    for (const k of keys) {
      const part = r.parts.find((p) => p.key === k.key);
      const value = part ? part.value : 0;
      if (!value) continue;
      const w = ((width - labelWidth - 10) * value) / top;
      root.append(svg('rect', { x, y, width: w, height: rowHeight - 8, class: `bar ${k.cls}` }, svg('title', {}, `${r.label}: ${value} ${k.label}`)));
      x += w;
    }
  });
  return root;
}

/** Lines over dates: `points` = [{date, ...values}], `series` = [{key, label, cls}]. */
export function lineChart(container, points, series, { label = 'Over time' } = {}) {
  if (!points.length) return empty(container);
  const width = 460;
  const height = 200;
  const pad = { left: 36, right: 10, top: 28, bottom: 28 };
  const top = Math.max(1, ...points.flatMap((p) => series.map((s) => Number(p[s.key]) || 0)));
  const x = (i) => pad.left + (points.length === 1 ? (width - pad.left - pad.right) / 2 : (i * (width - pad.left - pad.right)) / (points.length - 1));
  const y = (v) => height - pad.bottom - (v * (height - pad.top - pad.bottom)) / top;
  const root = frame(container, width, height, `${label}: ${points.length} days`);
  root.append(
    svg('line', { x1: pad.left, y1: y(0), x2: width - pad.right, y2: y(0), class: 'axis' }),
    svg('text', { x: 0, y: y(top) + 4, class: 'chart-value' }, String(top)),
    svg('text', { x: 0, y: y(0) + 4, class: 'chart-value' }, '0'),
    svg('text', { x: pad.left, y: height - 6, class: 'chart-label' }, points[0].date),
  );
  if (points.length > 1) {
    root.append(svg('text', { x: width - pad.right, y: height - 6, class: 'chart-label', 'text-anchor': 'end' }, points[points.length - 1].date));
  }
  series.forEach((s, n) => {
    root.append(
      svg('rect', { x: pad.left + n * 110, y: 4, width: 12, height: 12, class: `bar ${s.cls}` }),
      svg('text', { x: pad.left + n * 110 + 16, y: 15, class: 'chart-label' }, s.label),
    );
    const path = points.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(Number(p[s.key]) || 0).toFixed(1)}`).join(' ');
    root.append(svg('path', { d: path, class: `line ${s.cls}` }));
    points.forEach((p, i) => {
      root.append(svg('circle', { cx: x(i), cy: y(Number(p[s.key]) || 0), r: 3, class: `dot ${s.cls}` }, svg('title', {}, `${p.date}: ${p[s.key] || 0} ${s.label}`)));
    });
  });
  return root;
}

/** A row of labelled numbers. */
export function statCards(container, cards) {
  clear(container);
  for (const [label, value, hint] of cards) {
    container.append(h('div', { class: 'stat-card' }, h('span', { class: 'stat-value', text: String(value) }), h('span', { class: 'stat-label', text: label }), hint ? h('span', { class: 'small muted', text: hint }) : null));
  }
}
