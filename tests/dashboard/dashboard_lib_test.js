// tests/dashboard/dashboard_lib_test.js: the dashboard page's logic (web/dashboard_lib.js):
// formatting, the PromQL each chart runs, series building for uPlot, health rows, defaults.
//   node tests/dashboard/dashboard_lib_test.js [path/to/web/dashboard_lib.js]
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const D = require(process.argv[2] || path.join(__dirname, '../../web/dashboard_lib.js'));

test('formatValue', () => {
  assert.equal(D.formatValue(0), '0');
  assert.equal(D.formatValue(12.3456), '12.3');
  assert.equal(D.formatValue(9999), '9999');
  assert.equal(D.formatValue(12345), '12.3k');
  assert.equal(D.formatValue(1234567), '1.23M');
  assert.equal(D.formatValue(-2.5e9), '-2.5G');
  assert.equal(D.formatValue('1.5'), '1.5');
  assert.equal(D.formatValue('NaN'), 'NaN');
  assert.equal(D.formatValue('+Inf'), '+Inf');
  assert.equal(D.formatValue(-Infinity), '-Inf');
  assert.equal(D.formatValue(null), '');
  assert.equal(D.formatValue(512, 'bytes'), '512 B');
  assert.equal(D.formatValue(30203904, 'bytes'), '28.8 MiB');
  assert.equal(D.formatValue(0.35, 'seconds'), '350 ms');
  assert.equal(D.formatValue(0.0000425, 'seconds'), '42.5 µs');
  assert.equal(D.formatValue(4.1123, 'seconds'), '4.11 s');
  assert.equal(D.formatValue(0.1143, 'ratio'), '11.4%');
  assert.equal(D.formatValue(3, 'dollars'), '3 dollars');
  assert.equal(D.formatDuration(1500000), '1.5 ms');
});

test('formatAgo', () => {
  assert.equal(D.formatAgo(95, 100), '5 s ago');
  assert.equal(D.formatAgo('2023-11-14T22:13:20Z', 1700000000 + 180), '3 min ago');
  assert.equal(D.formatAgo(100, 100 + 7200), '2 h ago');
  assert.equal(D.formatAgo(0, 100), '');
  assert.equal(D.formatAgo(200, 100), '0 s ago');  // clock skew: never negative
});

test('formatLabels keeps HTML as text and sorts', () => {
  assert.equal(D.formatLabels({b: '<script>x</script>', a: '1', __name__: 'm'}),
               'a="1", b="<script>x</script>"');
  assert.equal(D.formatLabels({alertname: 'X', severity: 'info', dep: 'db'}, ['alertname', 'severity']),
               'dep="db"');
  assert.equal(D.formatLabels(undefined), '');
});

test('unitOf', () => {
  assert.equal(D.unitOf('process_resident_memory_bytes', ''), 'bytes');
  assert.equal(D.unitOf('agent_request_duration_seconds', ''), 'seconds');
  assert.equal(D.unitOf('agent_worker_utilization_ratio', ''), 'ratio');
  assert.equal(D.unitOf('llm_cost', 'dollars'), 'dollars');
  assert.equal(D.unitOf('agent_requests', ''), '');
});

test('chartQueries', () => {
  assert.deepEqual(D.chartQueries({name: 'agent_requests', type: 'counter'}, '', '1m'),
                   [{query: 'sum (rate(agent_requests_total[1m]))', legend: 'per second', unit: ''}]);
  assert.deepEqual(D.chartQueries({name: 'agent_requests', type: 'counter'}, 'status', '5m'),
                   [{query: 'sum by (status) (rate(agent_requests_total[5m]))', legend: 'per second', unit: ''}]);
  const h = D.chartQueries({name: 'lat_seconds', type: 'histogram'}, 'route');
  assert.deepEqual(h.map((q) => q.query), [
    'histogram_quantile(0.5, sum by (le, route) (rate(lat_seconds_bucket[1m])))',
    'histogram_quantile(0.9, sum by (le, route) (rate(lat_seconds_bucket[1m])))',
    'histogram_quantile(0.99, sum by (le, route) (rate(lat_seconds_bucket[1m])))']);
  assert.deepEqual(h.map((q) => q.legend), ['p50', 'p90', 'p99']);
  assert.equal(h[0].unit, 'seconds');
  assert.deepEqual(D.chartQueries({name: 'mem_bytes', type: 'gauge'}, ''),
                   [{query: 'mem_bytes', legend: '', unit: 'bytes'}]);
  assert.deepEqual(D.chartQueries({name: 'q', type: 'gauge'}, 'pool').map((q) => q.query), ['sum by (pool) (q)']);
  // A "by" that is not a label name is ignored (it would be PromQL injection otherwise).
  assert.equal(D.chartQueries({name: 'q', type: 'gauge'}, 'a) or vector(1')[0].query, 'q');
  assert.deepEqual(D.chartQueries({name: 'build', type: 'info'}, ''), []);
});

test('buildSeries aligns timestamps and fills gaps with null', () => {
  const built = D.buildSeries([
    {legend: 'p50', result: [{metric: {}, values: [[10, '1'], [20, '2']]}]},
    {legend: 'p99', result: [{metric: {}, values: [[20, '5'], [30, 'NaN']]}]},
  ]);
  assert.deepEqual(built.xs, [10, 20, 30]);
  assert.deepEqual(built.series, [
    {label: 'p50', values: [1, 2, null]},
    {label: 'p99', values: [null, 5, null]},
  ]);
  assert.equal(built.dropped, 0);
  const many = D.buildSeries([{legend: '', query: 'q', result: [1, 2, 3].map((i) => ({metric: {i: String(i)}, values: [[1, '1']]}))}], 2);
  assert.deepEqual(many.series.map((s) => s.label), ['i="1"', 'i="2"']);
  assert.equal(many.dropped, 1);
  const plain = D.buildSeries([{legend: '', query: 'up', result: [{metric: {}, values: [[1, '1']]}]}]);
  assert.equal(plain.series[0].label, 'up');
  assert.equal(D.lastValue([1, 2, null]), 2);
  assert.equal(D.lastValue([null]), null);
});

test('healthRows', () => {
  const rows = D.healthRows({status: 'fail', checks: {
    'vector_store:responseTime': [{status: 'fail', output: 'connection refused', observedValue: 3000,
                                    observedUnit: 'ms', groups: ['readiness', 'dependencies']}],
    'models': [{status: 'pass'}],
    'process_memory:rss': [{status: 'pass', observedValue: 35352576, observedUnit: 'bytes'}],
    'dispatch_loop:heartbeat': [{status: 'pass', observedValue: 0.0360000002, observedUnit: 's'}],
    'version': [{status: 'pass', observedValue: '1.2.3'}]}});
  assert.deepEqual(rows, [
    {name: 'vector_store:responseTime', status: 'fail', output: 'connection refused', observed: '3000 ms',
     groups: 'readiness, dependencies'},
    {name: 'models', status: 'pass', output: '', observed: '', groups: ''},
    {name: 'process_memory:rss', status: 'pass', output: '', observed: '33.7 MiB', groups: ''},
    {name: 'dispatch_loop:heartbeat', status: 'pass', output: '', observed: '0.036 s', groups: ''},
    {name: 'version', status: 'pass', output: '', observed: '1.2.3', groups: ''}]);
  assert.deepEqual(D.healthRows({status: 'pass'}), []);
});

test('familiesFromMetadata and defaultFamilies', () => {
  const fams = D.familiesFromMetadata({
    process_resident_memory_bytes: [{type: 'gauge', help: 'RSS', unit: ''}],
    agent_requests: [{type: 'counter', help: 'Requests', unit: '', labels: ['status']}],
    build: [{type: 'info', help: '', unit: ''}],
    vigil_admin_http_requests: [{type: 'counter', help: '', unit: ''}],
    agent_request_duration_seconds: [{type: 'histogram', help: '', unit: ''}],
    agent_requests_rejected: [{type: 'counter', help: '', unit: ''}],
  });
  assert.deepEqual(fams.map((f) => f.name), ['agent_request_duration_seconds', 'agent_requests',
                                             'agent_requests_rejected', 'process_resident_memory_bytes',
                                             'vigil_admin_http_requests']);
  assert.deepEqual(fams[1].labels, ['status']);
  assert.deepEqual(D.defaultFamilies(fams), ['agent_requests', 'agent_request_duration_seconds',
                                             'process_resident_memory_bytes']);
  // Without a *_requests counter, another counter about requests.
  assert.deepEqual(D.defaultFamilies(fams.filter((f) => f.name !== 'agent_requests')),
                   ['agent_requests_rejected', 'agent_request_duration_seconds', 'process_resident_memory_bytes']);
});

// The Guardrails card: /api/v1/guardrails and /api/v1/guardrails/decisions (cohort mode as in
// the demo: no baseline snapshot, the figures come from the newest verdict's conditions).
const failDecision = {
  id: 3, time: '2023-11-14T22:13:10Z', monitor: 'model-release', mode: 'cohort', result: 'fail',
  reason: 'success_rate fail: canary 0.8462 against baseline 0.9656', metric: 'success_rate',
  threshold: -0.02, observed: 0.8461538, baseline: 0.9655797, triggered: true,
  action: 'route-to-stable: ok',
  conditions: [{metric: 'success_rate', result: 'fail', baseline: 0.9655797, observed: 0.8461538},
               {metric: 'p95_latency', result: 'fail', baseline: 17.8209, observed: 33.2917},
               {metric: 'error_rate', result: 'pass', baseline: 0, observed: null}]};
const inconclusive = {
  id: 4, time: '2023-11-14T22:13:18Z', monitor: 'model-release', result: 'inconclusive',
  reason: 'success_rate: inconclusive, too little traffic', metric: '', threshold: 0,
  observed: 0, baseline: 0, action: 'none',
  conditions: [{metric: 'success_rate', result: 'inconclusive', baseline: 0.96, observed: null}]};

test('guardrailRows', () => {
  const rows = D.guardrailRows({monitors: [{
    name: 'model-release', state: 'triggered', mode: 'cohort', baseline: null,
    current: {success_rate: null, p95_latency: null, request_count: 0},
    cohorts: {baseline: 'v1', canary: 'v2'}, last_verdicts: [inconclusive, failDecision]}]});
  assert.deepEqual(rows, [{name: 'model-release', state: 'triggered', mode: 'cohort', cohorts: 'v1 vs v2',
    figures: 'success_rate 96.6% → 84.6%; p95_latency 17.8 → 33.3',
    verdict: 'inconclusive', reason: 'success_rate: inconclusive, too little traffic'}]);
  // Threshold mode: the baseline and current snapshots.
  const t = D.guardrailRows({monitors: [{name: 'api', state: 'watching', mode: 'threshold',
    baseline: {success_rate: 0.95, p95_latency: 0.2, error_rate: 0.01},
    current: {success_rate: 0.9, p95_latency: null, error_rate: 0.1}, last_verdicts: []}]});
  assert.equal(t[0].figures, 'success_rate 95% → 90%; error_rate 1% → 10%; p95_latency 0.2 → n/a');
  assert.equal(t[0].cohorts, '');
  assert.equal(t[0].verdict, '');
  // A pass or fail verdict's figures come before a newer inconclusive one's.
  const partial = {result: 'inconclusive', conditions: [{metric: 'error_rate', baseline: 0, observed: 0.185}]};
  assert.equal(D.guardrailRows({monitors: [{last_verdicts: [partial, failDecision]}]})[0].figures,
               'success_rate 96.6% → 84.6%; p95_latency 17.8 → 33.3');
  assert.equal(D.guardrailRows({monitors: [{last_verdicts: [partial]}]})[0].figures, 'error_rate 0% → 18.5%');
  assert.deepEqual(D.guardrailRows({monitors: []}), []);
  assert.deepEqual(D.guardrailRows(null), []);
});

test('decisionRows', () => {
  const rows = D.decisionRows({decisions: [inconclusive, failDecision]}, 1700000000 + 20);
  assert.deepEqual(rows[1], {time: '30 s ago', result: 'fail', monitor: 'model-release',
    metric: 'success_rate', figures: '84.6% vs baseline 96.6% (threshold -0.02)',
    action: 'route-to-stable: ok', reason: 'success_rate fail: canary 0.8462 against baseline 0.9656'});
  assert.equal(rows[0].figures, '');  // no deciding metric
  assert.equal(rows[0].action, 'none');
  const p95 = D.decisionRows({decisions: [{metric: 'p95_latency', observed: 33.29, baseline: null,
                                           threshold: 0.1, action: '<b>x</b>'}]}, 0)[0];
  assert.equal(p95.figures, '33.3 vs baseline n/a (threshold 0.1)');
  assert.equal(p95.action, '<b>x</b>');  // text: the page sets it with textContent
  assert.deepEqual(D.decisionRows({}), []);
  assert.equal(D.shorten('abcdef', 4), 'abc…');
  assert.equal(D.shorten('abc', 4), 'abc');
});

// The OTLP trace exporter's and the span processors' families as /api/v1/metadata lists them
// (src/exporters/otlp_trace_exporter.cc, src/trace/processor_internal.cc), plus neighbours that
// are not exporters.
const exporterFamilies = [
  {name: 'vigil_otlp_export_duration_seconds', type: 'histogram', labels: []},
  {name: 'vigil_otlp_export_failures', type: 'counter', labels: ['reason']},
  {name: 'vigil_otlp_export_retries', type: 'counter', labels: []},
  {name: 'vigil_otlp_export_sent_bytes', type: 'counter', labels: []},
  {name: 'vigil_otlp_exported_spans', type: 'counter', labels: []},
  {name: 'vigil_otlp_spans_dropped', type: 'counter', labels: ['reason']},
  {name: 'vigil_spans_dropped', type: 'counter', labels: ['reason']},
  {name: 'vigil_spans_exported', type: 'counter', labels: []},
  {name: 'vigil_admin_requests', type: 'counter', labels: ['path']},
  {name: 'vigil_alerting_rule_evaluations', type: 'counter', labels: []},
  {name: 'agent_requests', type: 'counter', labels: ['model']},
];

test('exporterQueries: the OTLP exporter and the span processors', () => {
  const q = D.exporterQueries(exporterFamilies);
  const by = (e, f) => q.find((x) => x.exporter === e && x.figure === f);
  assert.equal(q.length, 8);
  assert.deepEqual(q.map((x) => x.exporter + '.' + x.figure), [
    'otlp.duration', 'otlp.failures', 'otlp.retries', 'otlp.bytes', 'otlp.exported', 'otlp.dropped',
    'spans.dropped', 'spans.exported']);
  assert.equal(by('otlp', 'exported').query, 'sum (rate(vigil_otlp_exported_spans_total[1m]))');
  assert.equal(by('otlp', 'bytes').query, 'sum (rate(vigil_otlp_export_sent_bytes_total[1m]))');
  assert.equal(by('otlp', 'failures').query, 'sum (vigil_otlp_export_failures_total)');
  assert.equal(by('otlp', 'dropped').query, 'sum (vigil_otlp_spans_dropped_total)');
  assert.equal(by('otlp', 'duration').query,
               'histogram_quantile(0.95, sum by (le) (rate(vigil_otlp_export_duration_seconds_bucket[5m])))');
  assert.equal(by('spans', 'exported').query, 'sum (rate(vigil_spans_exported_total[1m]))');
  // No exporter family: nothing to ask ("no exporter configured").
  assert.deepEqual(D.exporterQueries(exporterFamilies.slice(8)), []);
  assert.deepEqual(D.exporterQueries([]), []);
  // The span processors alone (no OTLP exporter) are still an exporter row.
  assert.equal(D.exporterQueries(exporterFamilies.slice(6)).length, 2);
});

test('exporterQueries: a push exporter family with an exporter label (issue 12 shape)', () => {
  const q = D.exporterQueries([
    {name: 'vigil_export_failures', type: 'counter', labels: ['exporter', 'reason']},
    {name: 'vigil_export_points', type: 'counter', labels: ['exporter']},
    {name: 'vigil_export_duration_seconds', type: 'histogram', labels: ['exporter']},
  ]);
  assert.deepEqual(q.map((x) => x.figure + ' ' + x.query), [
    'failures sum by (exporter) (vigil_export_failures_total)',
    'exported sum by (exporter) (rate(vigil_export_points_total[1m]))',
    'duration histogram_quantile(0.95, sum by (le, exporter) (rate(vigil_export_duration_seconds_bucket[5m])))',
  ]);
});

test('exporterRows', () => {
  const answer = (exporter, figure, v, by, metric) => ({exporter, figure, by: by || '',
    result: v === undefined ? [] : [{metric: metric || {}, value: [1700000000, String(v)]}]});
  const rows = D.exporterRows([
    answer('otlp', 'exported', 12.5), answer('otlp', 'failures', 3), answer('otlp', 'retries', 0),
    answer('otlp', 'dropped', 120), answer('otlp', 'bytes', 20480), answer('otlp', 'duration', 'NaN'),
    answer('spans', 'dropped', 0), answer('spans', 'exported', undefined),
    answer('export', 'failures', 2, 'exporter', {exporter: '<b>statsd</b>'}),
  ]);
  assert.deepEqual(rows, [
    {exporter: 'OTLP traces', exported: '12.5/s', failures: '3', retries: '0', dropped: '120',
     bytes: '20 KiB/s', duration: 'n/a'},
    {exporter: 'span processors', exported: 'n/a', failures: '', retries: '', dropped: '0',
     bytes: '', duration: ''},
    {exporter: 'export <b>statsd</b>', exported: '', failures: '2', retries: '', dropped: '',
     bytes: '', duration: ''},
  ]);
  assert.equal(D.exporterRows([answer('otlp', 'duration', 0.0123)])[0].duration, '12.3 ms');
  assert.deepEqual(D.exporterRows([]), []);
});

test('rangeStep: at most 120 (or 61, as the page asks) points a chart', () => {
  assert.equal(D.rangeStep(300, 5, 61), 5);    // the page's default: 61 points
  assert.equal(D.rangeStep(900, 5, 61), 15);   // 15 minutes: 61 points
  assert.equal(D.rangeStep(301, 5, 61), 10);
  assert.equal(D.rangeStep(300, 5, 120), 5);   // 61 points
  assert.equal(D.rangeStep(900, 5, 120), 10);  // 91 points
  assert.equal(D.rangeStep(595, 5, 120), 5);   // exactly 120 points
  assert.equal(D.rangeStep(600, 5, 120), 10);
  assert.equal(D.rangeStep(3600, 5, 120), 35);  // 103 points
  assert.equal(D.rangeStep(900, 0.4, 120), 8);  // a sub-second ring step counts as 1 s
  for (const r of [60, 300, 900, 1800, 3600, 86400]) {
    assert.ok(r / D.rangeStep(r, 5, 120) + 1 <= 120, String(r));
    assert.ok(r / D.rangeStep(r, 5, 61) + 1 <= 61, String(r));
  }
});
