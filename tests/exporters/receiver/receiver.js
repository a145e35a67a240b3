#!/usr/bin/env node
// tests/exporters/receiver/receiver.js: an OTLP/HTTP trace, metric and log receiver for vigil's
// interop tests. Requests to a path ending in /v1/metrics are ExportMetricsServiceRequest's
// (exemplar ids as hex, like span ids; no flags from the wire), to /v1/logs
// ExportLogsServiceRequest's (log record trace and span ids as hex; LogRecord.flags is in the
// definitions), all others ExportTraceServiceRequest's.
//
// It decodes ExportTraceServiceRequest with the generated protobuf root shipped by the official
// @opentelemetry/otlp-transformer package (an independent decoder: vigil's own .proto files and
// encoder play no part here), in both encodings:
//   application/x-protobuf  ExportTraceServiceRequest.decode
//   application/json        OTLP/JSON: hex ids turned into bytes, then fromObject; every key
//                           must be a field the official definitions know (lowerCamelCase)
// and gunzips bodies sent with Content-Encoding: gzip. Each request is appended to the --out
// file as one JSON line: {n, method, path, contentType, contentEncoding, headers, errors,
// request, signal} where `request` is the decoded message in one normalised form for both encodings
// (ids as lowercase hex, 64-bit integers as strings, enums as numbers) plus the span and link
// `flags`, read from the raw protobuf wire (field 16 / 6) because the 0.52 definitions predate
// them.
//
//   node receiver.js --port-file PATH --out PATH [--plan JSON]
//
// It listens on 127.0.0.1 on a free port and writes the port to --port-file once listening.
// --plan is a JSON array of responses, the n-th request gets plan[n] (the last one repeats):
//   {"status": 503, "headers": {"Retry-After": "1"}, "delayMs": 0,
//    "partial": {"rejectedSpans": 2, "errorMessage": "..."}}  (metrics: rejectedDataPoints,
//                                                              logs: rejectedLogRecords)
// The default answers 200 with an empty ExportTraceServiceResponse in the request's encoding.
// It exits on SIGTERM/SIGINT, or by itself after --max-seconds (default 120).
'use strict';

const fs = require('fs');
const http = require('http');
const zlib = require('zlib');
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root');
const $protobuf = require('protobufjs/minimal');

const traceV1 = root.opentelemetry.proto.collector.trace.v1;
const metricsV1 = root.opentelemetry.proto.collector.metrics.v1;
const logsV1 = root.opentelemetry.proto.collector.logs.v1;
const SIGNALS = {
  traces: {
    Request: traceV1.ExportTraceServiceRequest,
    Response: traceV1.ExportTraceServiceResponse,
  },
  metrics: {
    Request: metricsV1.ExportMetricsServiceRequest,
    Response: metricsV1.ExportMetricsServiceResponse,
  },
  logs: {
    Request: logsV1.ExportLogsServiceRequest,
    Response: logsV1.ExportLogsServiceResponse,
  },
};
function signalOf(path) {
  if (/\/v1\/logs(\?|$)/.test(path)) return 'logs';
  return /\/v1\/metrics(\?|$)/.test(path) ? 'metrics' : 'traces';
}

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const portFile = arg('--port-file');
const outFile = arg('--out');
const plan = JSON.parse(arg('--plan', '[]'));
const maxSeconds = Number(arg('--max-seconds', '120'));
if (!portFile || !outFile) {
  console.error('usage: receiver.js --port-file PATH --out PATH [--plan JSON]');
  process.exit(2);
}

const TO_OBJECT = { longs: String, enums: Number, bytes: String, defaults: false, arrays: true };

// base64 (protobufjs' bytes form) to lowercase hex.
function hex(b64) {
  return Buffer.from(b64 || '', 'base64').toString('hex');
}

// Ids to hex in a decoded request, in place.
function idsToHex(req) {
  for (const rs of req.resourceSpans || []) {
    for (const ss of rs.scopeSpans || []) {
      for (const s of ss.spans || []) {
        for (const k of ['traceId', 'spanId', 'parentSpanId']) if (k in s) s[k] = hex(s[k]);
        for (const l of s.links || []) {
          for (const k of ['traceId', 'spanId']) if (k in l) l[k] = hex(l[k]);
        }
      }
    }
  }
  return req;
}

// Span.flags (16) and Span.Link.flags (6) straight from the wire, in span order.
function wireFlags(buf) {
  const spans = [];
  const fields = (bytes, visit) => {
    const r = $protobuf.Reader.create(bytes);
    while (r.pos < r.len) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (wire === 2) {
        visit(field, wire, r.bytes());
      } else if (wire === 5) {
        visit(field, wire, r.fixed32());
      } else {
        r.skipType(wire);
      }
    }
  };
  fields(buf, (f, w, rs) => {
    if (f !== 1 || w !== 2) return;
    fields(rs, (f2, w2, ss) => {
      if (f2 !== 2 || w2 !== 2) return;
      fields(ss, (f3, w3, span) => {
        if (f3 !== 2 || w3 !== 2) return;
        const entry = { flags: null, linkFlags: [] };
        fields(span, (f4, w4, v) => {
          if (f4 === 16 && w4 === 5) entry.flags = v;
          if (f4 === 13 && w4 === 2) {
            let lf = null;
            fields(v, (f5, w5, x) => {
              if (f5 === 6 && w5 === 5) lf = x;
            });
            entry.linkFlags.push(lf);
          }
        });
        spans.push(entry);
      });
    });
  });
  return spans;
}

function attachFlags(req, flags) {
  let i = 0;
  for (const rs of req.resourceSpans || []) {
    for (const ss of rs.scopeSpans || []) {
      for (const s of ss.spans || []) {
        const f = flags[i++] || { flags: null, linkFlags: [] };
        s.flags = f.flags;
        (s.links || []).forEach((l, j) => {
          l.flags = f.linkFlags[j] === undefined ? null : f.linkFlags[j];
        });
      }
    }
  }
}

// Every key of the JSON body must be a field of the official message (checked against the
// decoded message with defaults). `flags` is allowed where OTLP 1.x defines it.
function checkKeys(json, decoded, path, errors) {
  if (Array.isArray(json)) {
    if (!Array.isArray(decoded)) {
      errors.push(`${path}: array where the definitions have no list`);
      return;
    }
    json.forEach((v, i) => checkKeys(v, decoded[i], `${path}[${i}]`, errors));
    return;
  }
  if (json === null || typeof json !== 'object') return;
  if (decoded === null || typeof decoded !== 'object') {
    errors.push(`${path}: object where the definitions have a scalar`);
    return;
  }
  for (const k of Object.keys(json)) {
    const isFlags = k === 'flags' && /\.(spans|links)\[\d+\]$/.test(path);
    if (isFlags) continue;
    if (!(k in decoded)) {
      errors.push(`${path}.${k}: not a field of the OTLP definitions`);
      continue;
    }
    checkKeys(json[k], decoded[k], `${path}.${k}`, errors);
  }
}

const HEX = { traceId: 32, spanId: 16, parentSpanId: 16 };

// An OTLP/JSON hex id into bytes for fromObject, checking its form.
function fixHexId(obj, key, where, errors) {
  if (!(key in obj)) return;
  const v = obj[key];
  const re = new RegExp(`^[0-9a-f]{${HEX[key]}}$`);
  if (typeof v !== 'string' || !re.test(v)) {
    errors.push(`${where}.${key}: '${v}' is not ${HEX[key]} lowercase hex digits`);
  }
  obj[key] = Buffer.from(String(v), 'hex');
}

// Calls fn(exemplar, where) for every exemplar of a metrics request (decoded or JSON).
function forEachExemplar(req, fn) {
  (req.resourceMetrics || []).forEach((rm, a) => {
    (rm.scopeMetrics || []).forEach((sm, b) => {
      (sm.metrics || []).forEach((m, c) => {
        for (const kind of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']) {
          if (!m[kind]) continue;
          (m[kind].dataPoints || []).forEach((p, d) => {
            (p.exemplars || []).forEach((e, f) => {
              fn(e, `resourceMetrics[${a}].scopeMetrics[${b}].metrics[${c}].${kind}` +
                    `.dataPoints[${d}].exemplars[${f}]`);
            });
          });
        }
      });
    });
  });
}

// Exemplar ids to hex in a decoded metrics request, in place.
function metricIdsToHex(req) {
  forEachExemplar(req, (e) => {
    for (const k of ['traceId', 'spanId']) if (k in e) e[k] = hex(e[k]);
  });
  return req;
}

// OTLP/JSON metrics: exemplar ids are hex; converted for fromObject.
function metricsJsonToProtoObject(json, errors) {
  const copy = JSON.parse(JSON.stringify(json));
  forEachExemplar(copy, (e, where) => {
    fixHexId(e, 'traceId', where, errors);
    fixHexId(e, 'spanId', where, errors);
  });
  return copy;
}

// Calls fn(record, where) for every log record of a logs request (decoded or JSON).
function forEachLogRecord(req, fn) {
  (req.resourceLogs || []).forEach((rl, a) => {
    (rl.scopeLogs || []).forEach((sl, b) => {
      (sl.logRecords || []).forEach((r, c) => {
        fn(r, `resourceLogs[${a}].scopeLogs[${b}].logRecords[${c}]`);
      });
    });
  });
}

// Log record ids to hex in a decoded logs request, in place.
function logIdsToHex(req) {
  forEachLogRecord(req, (r) => {
    for (const k of ['traceId', 'spanId']) if (k in r) r[k] = hex(r[k]);
  });
  return req;
}

// OTLP/JSON logs: record ids are hex; converted for fromObject.
function logsJsonToProtoObject(json, errors) {
  const copy = JSON.parse(JSON.stringify(json));
  forEachLogRecord(copy, (r, where) => {
    fixHexId(r, 'traceId', where, errors);
    fixHexId(r, 'spanId', where, errors);
  });
  return copy;
}

// OTLP/JSON: ids are hex (not base64 as in plain proto3 JSON). Converts them for fromObject and
// collects the flags, which the 0.52 definitions do not have.
function jsonToProtoObject(json, errors) {
  const copy = JSON.parse(JSON.stringify(json));
  const flags = [];
  const fixId = (obj, key, where) => fixHexId(obj, key, where, errors);
  (copy.resourceSpans || []).forEach((rs, a) => {
    (rs.scopeSpans || []).forEach((ss, b) => {
      (ss.spans || []).forEach((s, c) => {
        const where = `resourceSpans[${a}].scopeSpans[${b}].spans[${c}]`;
        fixId(s, 'traceId', where);
        fixId(s, 'spanId', where);
        fixId(s, 'parentSpanId', where);
        const entry = { flags: 'flags' in s ? s.flags : null, linkFlags: [] };
        (s.links || []).forEach((l, d) => {
          fixId(l, 'traceId', `${where}.links[${d}]`);
          fixId(l, 'spanId', `${where}.links[${d}]`);
          entry.linkFlags.push('flags' in l ? l.flags : null);
        });
        flags.push(entry);
      });
    });
  });
  return { object: copy, flags };
}

let n = 0;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const index = n++;
    const step = plan.length ? plan[Math.min(index, plan.length - 1)] : {};
    const record = {
      n: index,
      method: req.method,
      path: req.url,
      contentType: req.headers['content-type'] || '',
      contentEncoding: req.headers['content-encoding'] || '',
      headers: req.headers,
      receivedAtMs: Date.now(),
      errors: [],
      request: null,
      signal: signalOf(req.url),
    };
    const { Request, Response } = SIGNALS[record.signal];
    const metrics = record.signal === 'metrics';
    const logs = record.signal === 'logs';
    let body = Buffer.concat(chunks);
    const isJson = record.contentType.startsWith('application/json');
    try {
      if (record.contentEncoding === 'gzip') body = zlib.gunzipSync(body);
      else if (record.contentEncoding) record.errors.push(`unexpected Content-Encoding ${record.contentEncoding}`);
      if (isJson) {
        const json = JSON.parse(body.toString('utf8'));
        const { object, flags } = metrics
          ? { object: metricsJsonToProtoObject(json, record.errors), flags: null }
          : logs
            ? { object: logsJsonToProtoObject(json, record.errors), flags: null }
            : jsonToProtoObject(json, record.errors);
        const toHex = metrics ? metricIdsToHex : logs ? logIdsToHex : idsToHex;
        // verify() checks the message fromObject built (it takes in-memory values, not the
        // proto3 JSON forms such as int64 strings).
        const message = Request.fromObject(object);
        const invalid = Request.verify(message);
        if (invalid) record.errors.push(`verify: ${invalid}`);
        const withDefaults = Request.toObject(message, { ...TO_OBJECT, defaults: true });
        checkKeys(json, toHex(JSON.parse(JSON.stringify(withDefaults))), '$', record.errors);
        record.request = toHex(Request.toObject(message, TO_OBJECT));
        if (!metrics && !logs) attachFlags(record.request, flags);
      } else if (record.contentType === 'application/x-protobuf') {
        const message = Request.decode(body);
        if (logs) {
          record.request = logIdsToHex(Request.toObject(message, TO_OBJECT));
        } else if (metrics) {
          record.request = metricIdsToHex(Request.toObject(message, TO_OBJECT));
        } else {
          record.request = idsToHex(Request.toObject(message, TO_OBJECT));
          attachFlags(record.request, wireFlags(body));
        }
      } else {
        record.errors.push(`unexpected Content-Type ${record.contentType}`);
      }
    } catch (e) {
      record.errors.push(`decode: ${e.message}`);
    }
    fs.appendFileSync(outFile, JSON.stringify(record) + '\n');

    const respond = () => {
      const status = step.status || 200;
      const headers = Object.assign({}, step.headers || {});
      let payload = Buffer.alloc(0);
      if (status >= 200 && status < 300) {
        const partial = step.partial ? { partialSuccess: step.partial } : {};
        if (isJson) {
          headers['Content-Type'] = 'application/json';
          payload = Buffer.from(JSON.stringify(partial));
        } else {
          headers['Content-Type'] = 'application/x-protobuf';
          payload = Buffer.from(Response.encode(Response.fromObject(partial)).finish());
        }
      } else {
        headers['Content-Type'] = 'text/plain';
        payload = Buffer.from(`status ${status} from the test receiver`);
      }
      headers['Content-Length'] = String(payload.length);
      res.writeHead(status, headers);
      res.end(payload);
    };
    if (step.delayMs) setTimeout(respond, step.delayMs);
    else respond();
  });
});

server.listen(0, '127.0.0.1', () => {
  const tmp = `${portFile}.tmp`;
  fs.writeFileSync(tmp, String(server.address().port));
  fs.renameSync(tmp, portFile);
});
const stop = () => {
  server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setTimeout(stop, maxSeconds * 1000).unref();
