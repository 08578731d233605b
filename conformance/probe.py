"""HTTP probes: every request a check sends, bounded in time and size, and recorded.

A :class:`HttpProbe` is bound to one check's :class:`~conformance.evidence.Evidence`, so
every exchange lands in that check's report already redacted. Failures to reach the
target become :class:`~conformance.errors.ProbeError` with a sentence saying what the
target did.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

import httpx

from conformance.errors import ProbeError
from conformance.evidence import Evidence, Exchange, excerpt
from conformance.redaction import Redactor

MAX_BODY_BYTES: Final = 1 << 20
USER_AGENT: Final = "conformance-suite/0.1"


@dataclass(frozen=True)
class ProbeResponse:
    """What the target answered, with the body cut at the probe's size limit."""

    status: int
    headers: httpx.Headers
    body: bytes
    elapsed_s: float
    truncated: bool = False

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def content_type(self) -> str:
        value: str = self.headers.get("content-type", "")
        return value.split(";")[0].strip().lower()

    def json(self) -> Any:
        """The body parsed as JSON, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None


class HttpProbe:
    """Sends requests to the target and records each exchange as evidence."""

    def __init__(
        self,
        client: httpx.Client,
        base_url: str,
        redactor: Redactor,
        evidence: Evidence,
        timeout_s: float,
    ) -> None:
        self._client = client
        self.base_url = base_url.rstrip("/")
        self._redactor = redactor
        self._evidence = evidence
        self.timeout_s = timeout_s

    def get(self, path: str, **kwargs: Any) -> ProbeResponse:
        return self.request("GET", path, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> ProbeResponse:
        """Send one request; raise ProbeError when no HTTP answer arrives in time."""
        limit = timeout_s or self.timeout_s
        url = path if "://" in path else self.base_url + path
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        body = content
        given = list(headers.items() if isinstance(headers, Mapping) else headers or [])
        names = {name.lower() for name, _ in given}
        request_headers = [] if "user-agent" in names else [("user-agent", USER_AGENT)]
        request_headers += given
        if json_body is not None:
            body = json.dumps(json_body).encode()
            if "content-type" not in names:
                request_headers.append(("content-type", "application/json"))

        exchange = Exchange(
            method=method,
            url=self._redactor.url(url),
            request_headers=[
                (k, self._redactor.header(k, v)) for k, v in request_headers
            ],
            request_body=self._redactor.text(excerpt(body or b"")),
        )
        self._evidence.add_exchange(exchange)
        started = time.monotonic()
        try:
            response = self._send(method, url, request_headers, body, limit, started)
        except ProbeError as exc:
            exchange.elapsed_s = time.monotonic() - started
            exchange.error = self._redactor.text(str(exc))
            raise

        exchange.elapsed_s = response.elapsed_s
        exchange.status = response.status
        exchange.response_headers = [
            (k, self._redactor.header(k, v)) for k, v in response.headers.multi_items()
        ]
        exchange.response_body = self._redactor.text(excerpt(response.body))
        return response

    def _send(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        limit: float,
        started: float,
    ) -> ProbeResponse:
        deadline = started + limit
        timeout = httpx.Timeout(limit)
        try:
            with self._client.stream(
                method, url, headers=headers, content=body, timeout=timeout
            ) as response:
                chunks: list[bytes] = []
                size = 0
                truncated = False
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size >= MAX_BODY_BYTES:
                        truncated = True
                        break
                    if time.monotonic() > deadline:
                        msg = f"{method} {url}: the body was still arriving after {limit:g} s"
                        raise ProbeError(msg)
                return ProbeResponse(
                    status=response.status_code,
                    headers=response.headers,
                    body=b"".join(chunks)[:MAX_BODY_BYTES],
                    elapsed_s=time.monotonic() - started,
                    truncated=truncated,
                )
        except httpx.TimeoutException as exc:
            msg = (
                f"{method} {url}: no complete answer within {limit:g} s ({_kind(exc)})"
            )
            raise ProbeError(msg) from exc
        except httpx.ConnectError as exc:
            msg = f"{method} {url}: could not connect ({exc or 'connection refused'})"
            raise ProbeError(msg) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            msg = f"{method} {url}: the target's answer is not valid HTTP ({_kind(exc)}: {exc})"
            raise ProbeError(msg) from exc


def _kind(exc: Exception) -> str:
    return type(exc).__name__
