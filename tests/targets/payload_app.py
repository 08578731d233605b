"""A target that puts script and markup payloads everywhere it controls.

Run as ``python tests/targets/payload_app.py`` under the suite's launcher: it listens on
``HTTP_ADDR``, answers with payloads in bodies and headers, serves an OpenAPI document
and a Prometheus exposition whose names carry them, logs them to stdout, and exports a
span per request (named and attributed with them) to the suite's OTLP/HTTP receiver.
The HTML report must show all of it as inert text.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final

PAYLOADS: Final = (
    "<script>document.title='pwned';window.__pwned=1</script>",
    "<img src=x onerror=\"document.title='pwned';window.__pwned=1\">",
    "</pre><script>window.__pwned=1</script>",
    "javascript:window.__pwned=1",
    '"><svg onload="window.__pwned=1">',
)
ALL: Final = " ".join(PAYLOADS)
TRACEPARENT: Final = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]")


def document() -> dict[str, object]:
    operation = {
        "summary": ALL,
        "description": ALL,
        "operationId": "x<script>window.__pwned=1</script>",
        "responses": {"200": {"description": PAYLOADS[1]}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": PAYLOADS[0], "version": PAYLOADS[2]},
        "paths": {
            "/<script>window.__pwned=1</script>": {"get": operation},
            "/items/{id}": {"get": {**operation, "security": [{PAYLOADS[1]: []}]}},
        },
    }


def exposition() -> str:
    label = ALL.replace("\\", "\\\\").replace('"', '\\"')
    return (
        "# HELP requests_total <script>window.__pwned=1</script>\n"
        "# TYPE requests_total counter\n"
        f'requests_total{{path="{label}"}} 1\n'
        '<img_src_x_onerror{a="b"} 1\n'
    )


def export_span(path: str, traceparent: str | None) -> None:
    """Send one span, named and attributed with payloads, as OTLP/JSON."""
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not endpoint:
        return
    found = TRACEPARENT.match(traceparent or "")
    trace_id = found.group(1) if found else secrets.token_hex(16)
    span = {
        "traceId": trace_id,
        "spanId": secrets.token_hex(8),
        "name": f"GET {PAYLOADS[0]}",
        "kind": 2,
        "startTimeUnixNano": "1",
        "endTimeUnixNano": "2",
        "attributes": [
            {"key": "url.path", "value": {"stringValue": path}},
            {"key": PAYLOADS[1], "value": {"stringValue": ALL}},
        ],
    }
    if found:
        span["parentSpanId"] = found.group(2)
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": ALL}}]}
    body = {
        "resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]
    }
    request = urllib.request.Request(
        endpoint.rstrip("/") + "/v1/traces",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=2):
            pass
    except OSError:
        pass


class Handler(BaseHTTPRequestHandler):
    """Every answer carries payloads; every request is logged with them."""

    server_version = PAYLOADS[3]

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/openapi.json":
            self._answer(200, json.dumps(document()).encode(), "application/json")
        elif path == "/metrics":
            self._answer(200, exposition().encode(), "text/plain; version=0.0.4")
        elif path == "/healthz":
            body = {"status": ALL, "checks": {PAYLOADS[2]: [{"status": "fail"}]}}
            self._answer(200, json.dumps(body).encode(), "application/json")
        else:
            self._answer(500, f"<html>{ALL}</html>".encode(), "text/html")
        export_span(self.path, self.headers.get("traceparent"))

    do_POST = do_GET
    do_OPTIONS = do_GET

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Payload", PAYLOADS[1])
        self.send_header("Access-Control-Allow-Origin", PAYLOADS[4])
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        print(f"{ALL} {format % args}", file=sys.stdout, flush=True)


def main() -> None:
    host, _, port = os.environ["HTTP_ADDR"].rpartition(":")
    print(f"starting {ALL}", flush=True)
    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
