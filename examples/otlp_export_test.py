#!/usr/bin/env python3
"""Runs examples/otlp_export.cc against a local OTLP/HTTP receiver (this script) and checks that
the spans arrived: POST /v1/traces, protobuf, with the example's span names in the body.

    otlp_export_test.py EXAMPLE_BINARY
"""
import http.server
import os
import subprocess
import sys
import threading

received = []


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        received.append((self.path, self.headers.get("Content-Type", ""), body))
        # An empty ExportTraceServiceResponse: full success.
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = "http://127.0.0.1:%d" % server.server_address[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
    run = subprocess.run([sys.argv[1]], env=env, capture_output=True, text=True, timeout=60)
    server.shutdown()
    sys.stdout.write(run.stdout)
    sys.stderr.write(run.stderr)
    failures = []
    if run.returncode != 0:
        failures.append("the example exited with %d" % run.returncode)
    if not received:
        failures.append("no request reached the receiver")
    for path, content_type, body in received:
        if path != "/v1/traces":
            failures.append("POST to %s, not /v1/traces" % path)
        if content_type != "application/x-protobuf":
            failures.append("Content-Type %r" % content_type)
    bodies = b"".join(body for _, _, body in received)
    for name in (b"handle_request", b"db.query", b"otlp-example"):
        if name not in bodies:
            failures.append("%s not in what the receiver got" % name.decode())
    if failures:
        print("otlp_export_test: FAIL: " + "; ".join(failures))
        return 1
    print("otlp_export_test: PASS: %d request(s) with %d bytes at %s/v1/traces"
          % (len(received), len(bodies), endpoint))
    return 0


if __name__ == "__main__":
    sys.exit(main())
