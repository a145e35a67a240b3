// tests/exporters/statsd/compare.js EXPECTED_JSON FLUSHED_JSONL: adds up what the StatsD daemon
// flushed over every interval (counters and timer counts summed, the last value of each gauge,
// timer values and set members gathered) and compares it with what vigil held (EXPECTED_JSON,
// written by statsd_interop_client). Exit 0 when every expected key matches and the daemon saw
// no bad line; 1 otherwise (the differences on stderr); 2 when nothing was flushed yet.
'use strict';
const fs = require('fs');

const expected = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
let text = '';
try { text = fs.readFileSync(process.argv[3], 'utf8'); } catch (e) { process.exit(2); }
const got = { counters: {}, gauges: {}, timers: {}, timer_counters: {}, sets: {} };
let flushes = 0;
for (const line of text.split('\n')) {
  if (!line) continue;
  const f = JSON.parse(line);
  flushes++;
  for (const [k, v] of Object.entries(f.counters)) got.counters[k] = (got.counters[k] || 0) + v;
  for (const [k, v] of Object.entries(f.timer_counters)) {
    got.timer_counters[k] = (got.timer_counters[k] || 0) + v;
  }
  Object.assign(got.gauges, f.gauges);
  for (const [k, v] of Object.entries(f.timers)) got.timers[k] = (got.timers[k] || []).concat(v);
  for (const [k, v] of Object.entries(f.sets)) {
    got.sets[k] = Array.from(new Set((got.sets[k] || []).concat(v)));
  }
}
if (flushes === 0) process.exit(2);

const close = (a, b) => typeof a === 'number' && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
const problems = [];
for (const kind of ['counters', 'gauges', 'timer_counters']) {
  for (const [k, v] of Object.entries(expected[kind] || {})) {
    if (!close(got[kind][k], v)) problems.push(`${kind} ${k}: want ${v}, got ${got[kind][k]}`);
  }
}
const sorted = (xs) => JSON.stringify([...(xs || [])].sort());
for (const kind of ['timers', 'sets']) {
  for (const [k, v] of Object.entries(expected[kind] || {})) {
    const g = kind === 'timers' ? (got.timers[k] || []).map(Number) : got.sets[k];
    if (sorted(g) !== sorted(v)) {
      problems.push(`${kind} ${k}: want ${sorted(v)}, got ${sorted(g)}`);
    }
  }
}
const bad = got.counters['statsd.bad_lines_seen'] || 0;
if (bad !== 0) problems.push(`the daemon saw ${bad} bad line(s)`);
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`statsd daemon flushed what vigil held (${flushes} flushes)`);
