// tests/exporters/statsd/json_backend.js: a StatsD backend for the interop test. At every flush
// it appends one JSON line to config.jsonOut with what the daemon aggregated in that interval:
// counters, gauges, timers (raw values), timer counts (sample rates applied) and set members.
'use strict';
const fs = require('fs');

exports.init = function (startupTime, config, events) {
  const out = config.jsonOut;
  if (!out) return false;
  events.on('flush', function (timestamp, metrics) {
    const sets = {};
    for (const key in metrics.sets) sets[key] = metrics.sets[key].values();
    const line = JSON.stringify({
      timestamp: timestamp,
      counters: metrics.counters,
      gauges: metrics.gauges,
      timers: metrics.timers,
      timer_counters: metrics.timer_counters,
      sets: sets,
    });
    fs.appendFileSync(out, line + '\n');
  });
  return true;
};
