// web/dashboard_lib.js: the dashboard's logic without the DOM (formatting, queries, series), so
// node can test it (tests/dashboard/dashboard_lib_test.js). Loaded by the page as a plain script
// (window.VigilDash) and by node as a module.
(function (root) {
  'use strict';

  // 1234567 -> "1.23M"; bytes -> "12.3 MiB"; seconds -> "350 ms". Non-finite: "NaN", "+Inf".
  function formatValue(v, unit) {
    if (v === null || v === undefined) return '';
    if (typeof v === 'string') v = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v);
    if (Number.isNaN(v)) return 'NaN';
    if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
    const a = Math.abs(v);
    if (unit === 'bytes') {
      const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let i = 0;
      let x = v;
      while (Math.abs(x) >= 1024 && i < units.length - 1) {
        x /= 1024;
        i++;
      }
      return (i === 0 ? String(Math.round(x)) : trim(x, 3)) + ' ' + units[i];
    }
    if (unit === 'seconds') {
      if (a === 0) return '0 s';
      if (a < 1e-3) return trim(v * 1e6, 3) + ' µs';
      if (a < 1) return trim(v * 1e3, 3) + ' ms';
      return trim(v, 3) + ' s';
    }
    if (unit === 'ratio') return trim(v * 100, 3) + '%';
    const suffix = unit ? ' ' + unit : '';
    if (a >= 1e9) return trim(v / 1e9, 3) + 'G' + suffix;
    if (a >= 1e6) return trim(v / 1e6, 3) + 'M' + suffix;
    if (a >= 1e4) return trim(v / 1e3, 3) + 'k' + suffix;
    // Below 10k: whole numbers from 100 up (9999 stays 9999), 3 significant digits under it.
    return (a >= 100 ? String(Math.round(v)) : trim(v, 3)) + suffix;
  }

  // At most `digits` significant digits, no trailing zeros.
  function trim(v, digits) {
    if (v === 0) return '0';
    return String(Number(v.toPrecision(Math.max(1, digits))));
  }

  // Nanoseconds -> "1.5 ms".
  function formatDuration(ns) {
    return formatValue(Number(ns) / 1e9, 'seconds');
  }

  // Unix seconds (or an RFC 3339 string) -> "12 s ago" relative to nowSeconds.
  function formatAgo(t, nowSeconds) {
    const secs = typeof t === 'string' ? Date.parse(t) / 1000 : Number(t);
    if (!Number.isFinite(secs) || secs <= 0) return '';
    const d = Math.max(0, nowSeconds - secs);
    if (d < 60) return Math.round(d) + ' s ago';
    if (d < 3600) return Math.round(d / 60) + ' min ago';
    if (d < 86400) return trim(d / 3600, 2) + ' h ago';
    return trim(d / 86400, 2) + ' d ago';
  }

  // {a: "1", b: "<x>"} -> 'a="1", b="<x>"' (text: the caller sets it with textContent).
  function formatLabels(metric, skip) {
    const parts = [];
    for (const k of Object.keys(metric || {}).sort()) {
      if (k === '__name__' || (skip && skip.indexOf(k) >= 0)) continue;
      parts.push(k + '="' + metric[k] + '"');
    }
    return parts.join(', ');
  }

  // The unit a family's values are in, from its metadata unit or name suffix.
  function unitOf(name, unit) {
    if (unit) return unit;
    if (/_bytes(_total)?$/.test(name)) return 'bytes';
    if (/_seconds(_total)?$/.test(name)) return 'seconds';
    if (/_ratio$/.test(name)) return 'ratio';
    return '';
  }

  const labelNameRe = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

  // The PromQL a chart of family `f` ({name, type, labels}) runs, grouped by label `by` ('' for
  // one total): rates of counters, p50/p90/p99 of histograms, gauges as they are. `rateWindow`
  // e.g. "1m". Returns [{query, legend, unit}] or [] for a family that cannot be charted.
  function chartQueries(f, by, rateWindow) {
    const w = rateWindow || '1m';
    if (by && !labelNameRe.test(by)) by = '';
    const grp = by ? ' by (' + by + ')' : '';
    const unit = unitOf(f.name, f.unit);
    switch (f.type) {
      case 'counter':
        return [{query: 'sum' + grp + ' (rate(' + f.name + '_total[' + w + ']))',
                 legend: 'per second', unit: unit === 'seconds' ? '' : unit}];
      case 'histogram': {
        const le = by ? 'le, ' + by : 'le';
        return [0.5, 0.9, 0.99].map((q) => ({
          query: 'histogram_quantile(' + q + ', sum by (' + le + ') (rate(' + f.name +
              '_bucket[' + w + '])))',
          legend: 'p' + Math.round(q * 100), unit: unit}));
      }
      case 'summary':
        return [{query: by ? 'max' + grp + ' (' + f.name + ')' : f.name, legend: '', unit: unit}];
      case 'gauge':
        return [{query: by ? 'sum' + grp + ' (' + f.name + ')' : f.name, legend: '', unit: unit}];
      default:
        return [];
    }
  }

  // Prometheus range results (one per query, with the query's legend) -> uPlot's columns:
  // {xs, series: [{label, values}]}: one x per distinct timestamp, null where a series has no
  // point. At most maxSeries series (the rest counted in `dropped`).
  function buildSeries(results, maxSeries) {
    const limit = maxSeries || 12;
    const times = new Set();
    const raw = [];
    let dropped = 0;
    for (const r of results) {
      for (const s of r.result || []) {
        if (raw.length >= limit) {
          dropped++;
          continue;
        }
        for (const p of s.values) times.add(p[0]);
        const lbl = formatLabels(s.metric);
        const label = r.legend ? (lbl ? r.legend + ' ' + lbl : r.legend) : (lbl || r.query || '');
        raw.push({label: label, values: s.values});
      }
    }
    const xs = Array.from(times).sort((a, b) => a - b);
    const pos = new Map(xs.map((t, i) => [t, i]));
    const series = raw.map((s) => {
      const ys = new Array(xs.length).fill(null);
      for (const p of s.values) {
        const v = Number(p[1]);
        ys[pos.get(p[0])] = Number.isFinite(v) ? v : null;
      }
      return {label: s.label, values: ys};
    });
    return {xs: xs, series: series, dropped: dropped};
  }

  // The last non-null value of a column, or null.
  function lastValue(values) {
    for (let i = values.length - 1; i >= 0; i--) {
      if (values[i] !== null) return values[i];
    }
    return null;
  }

  // A health+json report -> rows {name, status, output, observed, groups}.
  function healthRows(report) {
    const rows = [];
    const checks = (report && report.checks) || {};
    for (const key of Object.keys(checks)) {
      for (const c of checks[key]) {
        let observed = '';
        if (typeof c.observedValue === 'number') {
          const bytes = c.observedUnit === 'bytes';
          observed = formatValue(c.observedValue, bytes ? 'bytes' : '') +
              (c.observedUnit && !bytes ? ' ' + c.observedUnit : '');
        } else if (c.observedValue !== undefined) {
          observed = String(c.observedValue) + (c.observedUnit ? ' ' + c.observedUnit : '');
        }
        rows.push({name: key + (c.componentId ? ' (' + c.componentId + ')' : ''),
                   status: c.status || '', output: c.output || '', observed: observed,
                   groups: (c.groups || []).join(', ')});
      }
    }
    return rows;
  }

  // Chooses the families charted on a first visit: request rates, latencies, memory, CPU.
  function defaultFamilies(families) {
    const picks = [];
    const own = (f) => !/^vigil_/.test(f.name);
    const requests = families.find((f) => f.type === 'counter' && /requests$/.test(f.name) && own(f)) ||
        families.find((f) => f.type === 'counter' && /request/.test(f.name) && own(f));
    const want = [
      (f) => f === requests,
      (f) => f.type === 'histogram' && /(duration|latency)/.test(f.name) && own(f),
      (f) => f.name === 'process_resident_memory_bytes',
      (f) => f.name === 'process_cpu_seconds',
    ];
    for (const w of want) {
      const f = families.find((x) => w(x) && picks.indexOf(x.name) < 0);
      if (f) picks.push(f.name);
    }
    return picks;
  }

  // Prometheus /api/v1/metadata data -> [{name, type, help, unit, labels}] sorted by name.
  function familiesFromMetadata(data) {
    return Object.keys(data || {}).sort().map((name) => {
      const m = data[name][0] || {};
      return {name: name, type: m.type || 'unknown', help: m.help || '', unit: m.unit || '',
              labels: m.labels || []};
    }).filter((f) => f.type !== 'info' && f.type !== 'unknown');
  }

  // A guardrail figure as text: rates (success_rate, error_rate) as percentages, others as
  // numbers; null (not a number) as "n/a".
  function guardrailValue(metric, v) {
    if (v === null || v === undefined) return 'n/a';
    return formatValue(v, /_rate$/.test(metric || '') ? 'ratio' : '');
  }

  // Text cut to at most `max` characters (an ellipsis marks the cut).
  function shorten(text, max) {
    const t = String(text || '');
    return t.length > max ? t.slice(0, max - 1) + '…' : t;
  }

  // A monitor's baseline against its current figures: "success_rate 96.6% → 84.6%; ...". From
  // its snapshots (threshold mode) or, when those have no figure (cohort mode), from the
  // conditions of its newest pass or fail verdict (else its newest verdict) that has figures.
  function guardrailFigures(m) {
    const parts = [];
    const b = m.baseline || {};
    const c = m.current || {};
    for (const k of ['success_rate', 'error_rate', 'p95_latency']) {
      if ((b[k] === null || b[k] === undefined) && (c[k] === null || c[k] === undefined)) continue;
      parts.push(k + ' ' + guardrailValue(k, b[k]) + ' → ' + guardrailValue(k, c[k]));
    }
    if (parts.length) return parts.join('; ');
    const verdicts = m.last_verdicts || [];
    const decided = verdicts.filter((d) => d.result === 'pass' || d.result === 'fail');
    for (const d of decided.concat(verdicts)) {
      for (const x of d.conditions || []) {
        if (x.baseline === null || x.observed === null) continue;
        parts.push(x.metric + ' ' + guardrailValue(x.metric, x.baseline) + ' → ' +
                   guardrailValue(x.metric, x.observed));
      }
      if (parts.length) return parts.join('; ');
    }
    return '';
  }

  // GET /api/v1/guardrails -> rows {name, state, mode, cohorts, figures, verdict, reason}.
  function guardrailRows(body) {
    return ((body && body.monitors) || []).map((m) => {
      const co = m.cohorts || {};
      const last = (m.last_verdicts || [])[0];
      return {name: m.name || '', state: m.state || '', mode: m.mode || '',
              cohorts: co.baseline || co.canary ? (co.baseline || '?') + ' vs ' + (co.canary || '?') : '',
              figures: guardrailFigures(m), verdict: last ? last.result : '',
              reason: last ? last.reason || '' : ''};
    });
  }

  // GET /api/v1/guardrails/decisions -> rows {time, result, monitor, metric, figures, action,
  // reason}; `nowSeconds` for the relative time.
  function decisionRows(body, nowSeconds) {
    return ((body && body.decisions) || []).map((d) => {
      let figures = '';
      if (d.metric) {
        figures = guardrailValue(d.metric, d.observed) + ' vs baseline ' +
            guardrailValue(d.metric, d.baseline) + ' (threshold ' +
            (d.threshold === null || d.threshold === undefined ? 'n/a' : formatValue(d.threshold)) + ')';
      }
      return {time: formatAgo(d.time, nowSeconds), result: d.result || '', monitor: d.monitor || '',
              metric: d.metric || '', figures: figures, action: d.action || 'none',
              reason: d.reason || ''};
    });
  }

  // ---- the Exporters card ----
  // An exporter's self-metric families are named vigil_<exporter>_...; an exporter is a name
  // segment with at least one family whose name holds "export" (vigil_otlp_export_failures,
  // vigil_spans_exported, and the push exporters' families when they land). Each family gives
  // one figure, by what its name holds: fail(ures), retr(ies), drop(ped), bytes, else export(ed)
  // (vigil_export_points counts exports), or a duration histogram. A family with an `exporter` label gives one row per label value.
  const exporterTitles = {otlp: 'OTLP traces', spans: 'span processors'};
  function exporterFigure(f) {
    if (f.type === 'histogram') return /duration/.test(f.name) ? 'duration' : '';
    if (f.type !== 'counter') return '';
    const rest = f.name.replace(/^vigil_[a-z0-9]+_/, '');
    if (/fail/.test(rest)) return 'failures';
    if (/retr/.test(rest)) return 'retries';
    if (/drop/.test(rest)) return 'dropped';
    if (/bytes/.test(rest)) return 'bytes';
    if (/export/.test(f.name)) return 'exported';
    return '';
  }

  // Families ({name, type, labels}) -> the instant queries of the Exporters card:
  // [{exporter, figure, by, query}], one per figure of each exporter (the first family wins when
  // two give the same figure). [] when no exporter is there ("no exporter configured").
  function exporterQueries(families) {
    const groups = new Map();
    for (const f of families || []) {
      const m = /^vigil_([a-z0-9]+)_/.exec(f.name);
      if (!m) continue;
      if (!groups.has(m[1])) groups.set(m[1], []);
      groups.get(m[1]).push(f);
    }
    const out = [];
    for (const [key, list] of Array.from(groups.entries()).sort()) {
      if (!list.some((f) => /export/.test(f.name))) continue;
      const seen = new Set();
      for (const f of list) {
        const figure = exporterFigure(f);
        if (!figure || seen.has(figure)) continue;
        seen.add(figure);
        const by = (f.labels || []).indexOf('exporter') >= 0 ? 'exporter' : '';
        const grp = by ? ' by (' + by + ')' : '';
        let query;
        if (figure === 'duration') {
          query = 'histogram_quantile(0.95, sum by (le' + (by ? ', ' + by : '') + ') (rate(' + f.name +
              '_bucket[5m])))';
        } else if (figure === 'exported' || figure === 'bytes') {
          query = 'sum' + grp + ' (rate(' + f.name + '_total[1m]))';
        } else {
          query = 'sum' + grp + ' (' + f.name + '_total)';
        }
        out.push({exporter: key, figure: figure, by: by, query: query});
      }
    }
    return out;
  }

  // The answers of exporterQueries' queries ([{exporter, figure, by, result}], result: an
  // instant vector's data.result) -> rows {exporter, exported, failures, retries, dropped, bytes,
  // duration} as text: "" for a figure the exporter has no family for, "n/a" for one without a
  // value (no export in the window).
  function exporterRows(answers) {
    const figures = ['exported', 'failures', 'retries', 'dropped', 'bytes', 'duration'];
    const rows = new Map();
    const rowFor = (name) => {
      if (!rows.has(name)) {
        const r = {exporter: name};
        for (const k of figures) r[k] = '';
        rows.set(name, r);
      }
      return rows.get(name);
    };
    for (const a of answers || []) {
      const title = exporterTitles[a.exporter] || a.exporter;
      const result = a.result || [];
      const samples = a.by ? result : result.slice(0, 1);
      if (samples.length === 0) rowFor(title)[a.figure] = 'n/a';
      for (const s of samples) {
        const name = a.by ? title + ' ' + ((s.metric && s.metric[a.by]) || '?') : title;
        const v = Number(s.value && s.value[1]);
        let text;
        if (!Number.isFinite(v)) text = 'n/a';
        else if (a.figure === 'exported') text = formatValue(v) + '/s';
        else if (a.figure === 'bytes') text = formatValue(v, 'bytes') + '/s';
        else if (a.figure === 'duration') text = formatValue(v, 'seconds');
        else text = formatValue(v);
        rowFor(name)[a.figure] = text;
      }
    }
    return Array.from(rows.values());
  }

  // The step (seconds) of a chart over `range` seconds: the ring's step, or a multiple of it
  // large enough that the chart asks at most `maxPoints` points (bounds the endpoint's work).
  function rangeStep(range, baseStep, maxPoints) {
    const base = Math.max(1, Math.round(baseStep) || 1);
    const max = Math.max(2, maxPoints || 120);
    const k = Math.max(1, Math.ceil(range / (base * (max - 1))));
    return base * k;
  }

  const api = {formatValue, formatDuration, formatAgo, formatLabels, unitOf, chartQueries,
               buildSeries, lastValue, healthRows, defaultFamilies, familiesFromMetadata,
               guardrailRows, decisionRows, shorten, exporterQueries, exporterRows,
               rangeStep};
  if (typeof module !== 'undefined' && module.exports) {
    module.exports = api;
  } else {
    root.VigilDash = api;
  }
})(typeof window !== 'undefined' ? window : this);
