// web/dashboard.js: the dashboard page. Polls the admin server's JSON endpoints (the next poll
// starts only after every reply of the last one), draws charts with uPlot when it is embedded,
// and writes every value with textContent (never as HTML).
(function () {
  'use strict';
  const D = window.VigilDash;
  const $ = (id) => document.getElementById(id);
  const state = {inflight: false, again: false, config: null, families: [], charts: [], polls: 0, paused: false, timer: null,
                 token: sessionStorage.getItem('vigil.token') || ''};
  const params = new URLSearchParams(location.search);

  // ---- DOM helpers (text only) ----
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function badge(text) {
    return el('span', 'badge ' + String(text).toLowerCase().replace(/[^a-z]/g, ''), text);
  }
  function row(cells) {
    const tr = el('tr');
    for (const c of cells) {
      const td = el('td');
      if (c instanceof Node) td.appendChild(c); else td.textContent = c === undefined ? '' : String(c);
      tr.appendChild(td);
    }
    return tr;
  }
  function fill(tbody, rows, columns, emptyText) {
    const frag = document.createDocumentFragment();
    if (rows.length === 0) {
      const tr = el('tr');
      const td = el('td', 'empty', emptyText);
      td.colSpan = columns;
      tr.appendChild(td);
      frag.appendChild(tr);
    }
    for (const r of rows) frag.appendChild(r);
    tbody.replaceChildren(frag);
  }
  function showNotice(text) {
    const n = $('notice');
    n.textContent = text;
    n.hidden = !text;
  }

  // ---- fetching ----
  async function getJSON(path) {
    // X-Vigil-Dashboard: the server counts these requests but does not trace them.
    const headers = {'X-Vigil-Dashboard': '1'};
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    const r = await fetch(path, {headers: headers, cache: 'no-store'});
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok && r.status !== 503) {
      const msg = body && body.error ? body.error : 'HTTP ' + r.status;
      const err = new Error(msg);
      err.status = r.status;
      throw err;
    }
    return {status: r.status, body: body};
  }
  function unavailable(tbody, columns, err) {
    const text = err.status === 404 ? 'not served by this process'
        : err.status === 401 || err.status === 403 ? 'needs the admin token' : String(err.message);
    fill(tbody, [], columns, text);
  }

  // ---- charts ----
  function saveCharts() {
    localStorage.setItem('vigil.charts', JSON.stringify(state.charts.map((c) => c.spec)));
  }
  function addChart(spec) {
    const box = el('div', 'chart');
    const head = el('div', 'chart-head');
    const title = el('span', 'chart-title', spec.title);
    title.title = spec.queries.map((q) => q.query).join('\n');
    const close = el('button', 'chart-close', '×');
    close.type = 'button';
    close.setAttribute('aria-label', 'remove chart');
    head.append(title, close);
    const body = el('div', 'chart-body');
    const legend = el('div', 'legend');
    box.append(head, body, legend);
    $('charts').appendChild(box);
    const chart = {spec: spec, box: box, body: body, legend: legend, plot: null, nseries: -1};
    close.addEventListener('click', () => {
      if (chart.plot) chart.plot.destroy();
      box.remove();
      state.charts = state.charts.filter((c) => c !== chart);
      saveCharts();
    });
    state.charts.push(chart);
    return chart;
  }
  function familySpec(name, by) {
    const f = state.families.find((x) => x.name === name);
    if (!f) return null;
    const queries = D.chartQueries(f, by, '1m');
    if (queries.length === 0) return null;
    const what = f.type === 'counter' ? name + '_total /s' : f.type === 'histogram' ? name + ' p50/p90/p99' : name;
    return {title: what + (by ? ' by ' + by : ''), queries: queries, unit: queries[0].unit};
  }
  const palette = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777',
                   '#65a30d', '#475569', '#ea580c', '#0d9488', '#9333ea'];

  function drawChart(chart, built) {
    chart.box.dataset.lastT = built.xs.length ? String(built.xs[built.xs.length - 1]) : '';
    chart.box.dataset.points = String(built.xs.length);
    chart.box.dataset.series = String(built.series.length);
    // Legend: each series' label and last value, as text.
    const frag = document.createDocumentFragment();
    built.series.forEach((s, i) => {
      const item = el('span', 'legend-item');
      item.append(el('span', 'swatch sw' + (i % palette.length)), el('span', 'label', s.label),
                  el('span', 'value', D.formatValue(D.lastValue(s.values), chart.spec.unit)));
      frag.appendChild(item);
    });
    if (built.series.length === 0) frag.appendChild(el('span', 'muted', 'no data yet'));
    if (built.dropped) frag.appendChild(el('span', 'muted', '+' + built.dropped + ' more series not shown'));
    chart.legend.replaceChildren(frag);
    if (typeof window.uPlot !== 'function') return;
    const data = [built.xs].concat(built.series.map((s) => s.values));
    if (chart.plot && chart.nseries === built.series.length) {
      chart.plot.setData(data);
      return;
    }
    if (chart.plot) chart.plot.destroy();
    const unit = chart.spec.unit;
    chart.plot = new window.uPlot({
      width: Math.max(200, chart.body.clientWidth), height: 170,
      legend: {show: false},
      cursor: {drag: {x: false, y: false}},
      scales: {x: {time: true}},
      axes: [{}, {size: 70, values: (u, vals) => vals.map((v) => D.formatValue(v, unit))}],
      series: [{}].concat(built.series.map((s, i) => ({label: s.label, stroke: palette[i % palette.length],
                                                       width: 1.5, spanGaps: false}))),
    }, data, chart.body);
    chart.nseries = built.series.length;
  }
  async function pollChart(chart, now) {
    const range = Number($('range').value) || 300;
    // A step that grows with the range: a chart asks at most 61 points (5 minutes at 5 s), which
    // bounds the endpoint's work for a cold query (bench/README.md "Live dashboard").
    const step = D.rangeStep(range, state.config.stepMs / 1000, 61);
    const end = Math.floor(now / step) * step;
    const start = end - range;
    const results = [];
    for (const q of chart.spec.queries) {
      const path = '/api/v1/query_range?query=' + encodeURIComponent(q.query) + '&start=' + start +
          '&end=' + end + '&step=' + step;
      const r = await getJSON(path);
      results.push({legend: q.legend, query: q.query, result: r.body.data.result});
    }
    chart.box.classList.remove('chart-error');
    drawChart(chart, D.buildSeries(results, 12));
  }

  // ---- panels ----
  async function pollHealth() {
    const p = state.config.paths.health;
    if (!p) { $('health').hidden = true; return; }
    const probes = ['live', 'ready', 'startup'];
    const answers = await Promise.all(probes.map((x) => getJSON(p + '/' + x).catch((e) => e)));
    const frag = document.createDocumentFragment();
    probes.forEach((name, i) => {
      const a = answers[i];
      const span = el('span', 'probe');
      span.append(el('span', null, name + ' '), badge(a instanceof Error ? 'unknown'
          : (a.body && a.body.status) || String(a.status)));
      frag.appendChild(span);
    });
    $('probes').replaceChildren(frag);
    const ready = answers[1];
    $('health').dataset.ready = ready instanceof Error ? '' : (ready.body && ready.body.status) || '';
    try {
      const all = await getJSON(p);
      const rows = D.healthRows(all.body).map((c) => row([c.name, badge(c.status), c.output, c.observed, c.groups]));
      fill($('checks'), rows, 5, 'no checks registered');
      $('health').dataset.status = (all.body && all.body.status) || '';
    } catch (e) {
      unavailable($('checks'), 5, e);
    }
  }
  async function pollAlerts() {
    const paths = state.config.paths;
    const now = Date.now() / 1000;
    if (!paths.alerts) { $('alerts').hidden = true; return; }
    try {
      const a = await getJSON(paths.alerts);
      const alerts = a.body.data.alerts.slice().sort((x, y) => (x.state < y.state ? -1 : x.state > y.state ? 1 : 0));
      $('alerts').dataset.firing = alerts.filter((x) => x.state === 'firing').map((x) => x.labels.alertname).join(',');
      fill($('active'), alerts.map((x) => row([
        badge(x.silencedBy ? 'silenced' : x.state), x.labels.alertname || '', x.labels.severity || '',
        D.formatLabels(x.labels, ['alertname', 'severity']), D.formatValue(x.value), D.formatAgo(x.activeAt, now)])),
           6, 'no alert is pending or firing');
    } catch (e) { unavailable($('active'), 6, e); }
    if (paths.silences) {
      try {
        const s = await getJSON(paths.silences);
        const list = (s.body || []).filter((x) => x.status && x.status.state !== 'expired');
        fill($('silences'), list.map((x) => row([badge(x.status.state),
          x.matchers.map((m) => m.name + (m.isEqual === false ? '!' : '') + (m.isRegex ? '=~' : '=') + '"' + m.value + '"').join(', '),
          x.comment || '', x.endsAt || ''])), 4, 'no active silence');
      } catch (e) { unavailable($('silences'), 4, e); }
    }
    if (paths.alertHistory) {
      try {
        const h = await getJSON(paths.alertHistory + '?limit=20');
        fill($('history'), h.body.data.history.map((x) => {
          const d = (Date.parse(x.endedAt) - Date.parse(x.startedAt)) / 1000;
          return row([x.name, x.fired ? 'yes' : 'no (pending only)', D.formatLabels(x.labels, ['alertname', 'severity']),
                      D.formatValue(d, 'seconds'), D.formatAgo(x.endedAt, now)]);
        }), 5, 'no alert has ended yet');
      } catch (e) { unavailable($('history'), 5, e); }
    }
  }
  async function pollDelivery() {
    const p = state.config.paths.notifications;
    if (!p) { $('delivery').hidden = true; return; }
    try {
      const n = await getJSON(p);
      const rows = [];
      for (const r of n.body.data.receivers || []) {
        for (const i of r.integrations || []) {
          rows.push(row([r.name, i.integration + '[' + i.index + ']', i.sent, i.failed, r.queued, i.lastError || '']));
        }
      }
      for (const a of n.body.data.alertmanagers || []) {
        rows.push(row(['Alertmanager', a.url || '', a.sent, a.errors, a.queued === undefined ? '' : a.queued, a.lastError || '']));
      }
      fill($('receivers'), rows, 6, 'no receiver configured');
    } catch (e) { unavailable($('receivers'), 6, e); }
  }
  // The Guardrails card: hidden when the process serves no guardrail (404).
  async function pollGuardrails() {
    const p = state.config.paths.guardrails;
    const card = $('guardrails');
    if (!p) { card.hidden = true; return; }
    const reason = (text) => {
      const s = el('span', 'reason', D.shorten(text, 160));
      s.title = text;
      return s;
    };
    try {
      const g = await getJSON(p);
      card.hidden = false;
      fill($('monitors'), D.guardrailRows(g.body).map((m) => {
        const verdict = el('span');
        if (m.verdict) verdict.append(badge(m.verdict), ' ', reason(m.reason));
        return row([el('span', 'nowrap', m.name), badge(m.state), m.mode, m.cohorts, m.figures, verdict]);
      }), 6, 'no guardrail monitor');
    } catch (e) {
      if (e.status === 404) { card.hidden = true; return; }
      unavailable($('monitors'), 6, e);
      return;
    }
    try {
      const d = await getJSON(p + '/decisions?limit=10');
      const rows = D.decisionRows(d.body, Date.now() / 1000);
      card.dataset.decisions = rows.map((x) => x.result + ' ' + x.action).join('\n');
      fill($('decisions'), rows.map((x) => row([el('span', 'nowrap', x.time), badge(x.result), x.metric,
                                                 x.figures, el('span', 'nowrap', x.action), reason(x.reason)])),
           6, 'no decision yet');
    } catch (e) { unavailable($('decisions'), 6, e); }
  }
  // The Exporters card: each exporter's outcomes from its self-metrics, read with instant
  // queries (exporters are found in /api/v1/metadata's families at page load).
  async function pollExporters() {
    const queries = D.exporterQueries(state.families);
    const card = $('exporters');
    if (queries.length === 0) {
      card.dataset.exporters = '';
      fill($('exporter-rows'), [], 7, 'no exporter configured');
      return;
    }
    try {
      const answers = await Promise.all(queries.map(async (q) => {
        const r = await getJSON('/api/v1/query?query=' + encodeURIComponent(q.query));
        return {exporter: q.exporter, figure: q.figure, by: q.by, result: r.body.data.result};
      }));
      const rows = D.exporterRows(answers);
      card.dataset.exporters = rows.map((x) => x.exporter).join(',');
      fill($('exporter-rows'), rows.map((x) => row([el('span', 'nowrap', x.exporter), x.exported, x.failures,
                                                     x.retries, x.dropped, x.bytes, x.duration])),
           7, 'no exporter configured');
    } catch (e) { unavailable($('exporter-rows'), 7, e); }
  }
  async function pollTraces() {
    const p = state.config.paths.tracez;
    if (!p) { $('traces').hidden = true; return; }
    try {
      const t = await getJSON(p + '?running=0&errors=10');
      const buckets = t.body.latency_buckets;
      const now = t.body.time_unix_nanos / 1e9;
      fill($('spans'), t.body.spans.map((s) => {
        let slowest = '';
        s.latency.forEach((c, i) => { if (c > 0) slowest = buckets[i]; });
        return row([s.name, s.running, s.latency.reduce((a, b) => a + b, 0), s.errors, slowest]);
      }), 5, 'no span recorded yet');
      fill($('errors'), t.body.recent_errors.map((s) => row([s.name, s.status.message || s.status.code,
        D.formatDuration(s.duration_ns), el('span', 'mono', s.trace_id.slice(0, 16)), D.formatAgo(s.end_unix_nanos / 1e9, now)])),
           5, 'no recent error');
    } catch (e) { unavailable($('spans'), 5, e); }
  }

  // ---- the poll loop: one round at a time ----
  async function poll() {
    state.timer = null;
    if (state.paused || state.inflight) return;
    state.inflight = true;
    const now = Math.floor(Date.now() / 1000);
    const tasks = state.charts.map((c) => pollChart(c, now).catch((e) => {
      c.box.classList.add('chart-error');
      c.legend.replaceChildren(el('span', 'chart-error', e.message));
    }));
    tasks.push(pollHealth(), pollAlerts(), pollGuardrails(), pollDelivery(), pollExporters(), pollTraces());
    await Promise.allSettled(tasks);
    state.inflight = false;
    state.polls++;
    document.body.dataset.polls = String(state.polls);
    $('status').textContent = 'updated ' + new Date().toLocaleTimeString() + ' · every ' +
        (state.interval / 1000) + ' s';
    if (state.again) {
      state.again = false;
      poll();
    } else {
      schedule();
    }
  }
  // Poll now (after the round in flight, if any): never two rounds at once.
  function kick() {
    if (state.inflight) { state.again = true; return; }
    if (state.timer !== null) { clearTimeout(state.timer); state.timer = null; }
    poll();
  }
  function schedule() {
    if (!state.paused && state.timer === null) state.timer = setTimeout(poll, state.interval);
  }

  async function loadFamilies() {
    try {
      const m = await getJSON('/api/v1/metadata');
      state.families = D.familiesFromMetadata(m.body.data);
    } catch (e) {
      showNotice('Cannot read /api/v1/metadata: ' + e.message + (e.status === 401 || e.status === 403
          ? ' (this server is exposed: enter the admin token above)' : ''));
      return;
    }
    const sel = $('family');
    sel.replaceChildren(...state.families.map((f) => {
      const o = el('option', null, f.name + ' (' + f.type + ')');
      o.value = f.name;
      o.title = f.help;
      return o;
    }));
    sel.dispatchEvent(new Event('change'));
  }

  async function start() {
    try {
      state.config = (await getJSON('/dashboard/config.json')).body;
    } catch (e) {
      showNotice('Cannot read /dashboard/config.json: ' + e.message);
      return;
    }
    const cfg = state.config;
    document.title = cfg.title + ' · vigil dashboard';
    $('title').textContent = cfg.title;
    state.interval = Number(params.get('interval')) > 0 ? Number(params.get('interval')) * 1000 : cfg.pollIntervalMs;
    $('ring').textContent = 'in-process history: ' + cfg.ring.series + ' series, sampled every ' +
        cfg.stepMs / 1000 + ' s, kept ' + Math.round(cfg.retentionMs / 60000) + ' min';
    if (!cfg.charts || typeof window.uPlot !== 'function') {
      document.body.classList.add('no-charts');
      showNotice('Charts are not available: this build of vigil was made without uPlot ' +
                 '(run scripts/install-deps.sh, which runs npm ci in web/, then rebuild). ' +
                 'Series are shown as their last values.');
    }
    $('token').value = state.token;
    $('token').addEventListener('change', () => {
      state.token = $('token').value;
      sessionStorage.setItem('vigil.token', state.token);
      location.reload();  // start again with the token (families, charts, panels)
    });
    $('pause').addEventListener('click', () => {
      state.paused = !state.paused;
      $('pause').textContent = state.paused ? 'Resume' : 'Pause';
      if (state.paused && state.timer !== null) { clearTimeout(state.timer); state.timer = null; }
      if (!state.paused) kick();
    });
    $('family').addEventListener('change', () => {
      const f = state.families.find((x) => x.name === $('family').value);
      $('by').replaceChildren(el('option', null, 'total'), ...((f && f.labels) || []).map((l) => {
        const o = el('option', null, 'by ' + l);
        o.value = l;
        return o;
      }));
      $('by').options[0].value = '';
    });
    $('add').addEventListener('click', () => {
      const spec = familySpec($('family').value, $('by').value);
      if (spec) { addChart(spec); saveCharts(); kick(); }
    });
    $('addq').addEventListener('click', () => {
      const q = $('promql').value.trim();
      if (!q) return;
      addChart({title: q, queries: [{query: q, legend: '', unit: ''}], unit: ''});
      saveCharts();
      $('promql').value = '';
      kick();
    });
    $('range').addEventListener('change', kick);
    await loadFamilies();
    let saved = null;
    try { saved = JSON.parse(localStorage.getItem('vigil.charts') || 'null'); } catch (e) { saved = null; }
    if (Array.isArray(saved) && saved.length) {
      for (const s of saved) if (s && s.title && Array.isArray(s.queries)) addChart(s);
    } else {
      for (const name of D.defaultFamilies(state.families)) {
        const spec = familySpec(name, '');
        if (spec) addChart(spec);
      }
    }
    poll();
  }
  start();
})();
