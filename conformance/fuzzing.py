"""Generated requests for one operation, through schemathesis, bounded in count and time.

schemathesis turns the OpenAPI document into Hypothesis strategies and knows which
response properties to check against it. Its check that replays requests with broken
credentials is left out: authentication is SEC-02 and SEC-03's, and the replays would
count as failed attempts against a rate-limited target. This module only runs a bounded
number of its cases against the target with the profile's credentials and collects what
went wrong, each with a command that reproduces it (credentials masked).

A generated request may ask an operation to keep streaming (a ``follow`` of minutes):
a body of no announced length is read until it goes quiet or the case's share of the
budget is spent, then judged on what arrived, so one such case cannot use up the budget
the others need. A body with a Content-Length is read whole, as before.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import requests
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, Response, openapi
from schemathesis.core.transport import STREAM_CUT_SHORT_ATTRIBUTE
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, response_schema_conformance
from schemathesis.transport.requests import SameHostRedirectsSession
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

from conformance.leaks import find_stack_trace
from conformance.redaction import MASK

REQUEST_TIMEOUT_S: Final = 5.0
# An open-ended body silent this long after its start is a stream waiting for events,
# not a slow answer; also the floor of the time one such body is read for.
QUIET_S: Final = 0.1
BODY_CHUNK: Final = 64 * 1024


@dataclass(frozen=True)
class Problem:
    """One generated request the target handled wrongly."""

    kind: str
    message: str
    reproduce: str


@dataclass
class FuzzRun:
    cases: int = 0
    timeouts: int = 0
    cut_short: int = 0


def body_window(budget_s: float, examples: int) -> float:
    """How long one case's body is read: its even share of the budget over both modes."""
    share = budget_s / max(1, 2 * examples)
    return min(REQUEST_TIMEOUT_S, max(QUIET_S, share))


class BoundedBodySession(SameHostRedirectsSession):
    """A session that stops reading an open-ended body that goes quiet or outlasts ``body_s``.

    schemathesis asks for ``stream=True`` and then reads the whole body; a read timeout
    only bounds the silence between chunks, so a stream that trickles, or stays open
    quietly for minutes, would hold the case until the target ends it. A body stopped
    early is marked cut short, as schemathesis marks event streams it stops. A body
    whose length the headers announce is finite: schemathesis reads it whole.
    """

    def __init__(self, body_s: float) -> None:
        super().__init__()
        # As schemathesis's own session: only the case's headers are sent.
        self.headers.clear()
        self.body_s = body_s

    def request(
        self, method: str, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        response = super().request(method, url, *args, **kwargs)
        open_ended = "content-length" not in response.headers
        if kwargs.get("stream") and open_ended and not response._content_consumed:
            read_within(response, self.body_s)
        return response


def read_within(response: requests.Response, limit_s: float) -> None:
    """Read the body until it ends, is quiet for ``QUIET_S`` or ``limit_s`` passes.

    What arrived by then becomes the content.
    """
    deadline = time.monotonic() + limit_s
    sock = _socket_of(response)
    chunks: list[bytes] = []
    cut = False
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            if sock is not None:
                sock.settimeout(min(remaining, QUIET_S))
            chunk = response.raw.read1(BODY_CHUNK, decode_content=True)
            if not chunk:
                break
            chunks.append(chunk)
        else:
            cut = True
    except ReadTimeoutError:
        cut = True
    except ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    except DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from exc
    response._content = b"".join(chunks)
    response._content_consumed = True
    if cut:
        setattr(response, STREAM_CUT_SHORT_ATTRIBUTE, True)
        # The connection is mid-body: drop it, which also tells the target to stop.
        response.close()


def _socket_of(response: requests.Response) -> socket.socket | None:
    """The body's socket, to bound each read; None leaves reads to the read timeout.

    A body that ends when the connection closes is no longer the connection's: only the
    response's file still holds the socket.
    """
    sock = getattr(getattr(response.raw, "connection", None), "sock", None)
    if sock is None:
        fp = getattr(getattr(response.raw, "_fp", None), "fp", None)
        sock = getattr(getattr(fp, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


def fuzz_operation(
    document: dict[str, Any],
    method: str,
    path: str,
    base_url: str,
    auth_headers: Mapping[str, str],
    examples: int,
    budget_s: float,
) -> tuple[list[Problem], FuzzRun]:
    """Valid and invalid generated requests; problems found, and how many were sent."""
    schema = openapi.from_dict(document)
    operation = schema[path][method.upper()]
    problems: list[Problem] = []
    run = FuzzRun()
    deadline = time.monotonic() + budget_s
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        _run_mode(
            operation,
            mode,
            _Target(base_url, dict(auth_headers), body_window(budget_s, examples)),
            examples,
            deadline,
            problems,
            run,
        )
    return problems, run


@dataclass(frozen=True)
class _Target:
    """Where generated cases go, with which credentials, and how long a body is read."""

    base_url: str
    auth_headers: dict[str, str]
    body_s: float


def _run_mode(
    operation: Any,
    mode: GenerationMode,
    target: _Target,
    examples: int,
    deadline: float,
    problems: list[Problem],
    run: FuzzRun,
) -> None:
    """Send up to ``examples`` generated cases of one mode, until ``deadline``."""
    base_url, auth_headers = target.base_url, target.auth_headers
    masked = {name: MASK for name in auth_headers}

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    # The credentials are fixed: generated ones would only test authentication, and
    # count as failed attempts against a rate-limited target.
    @given(
        case=operation.as_strategy(generation_mode=mode, headers=auth_headers or None)
    )
    def probe(case: Case[Any]) -> None:
        if time.monotonic() > deadline or len(problems) >= examples:
            return
        run.cases += 1
        # A session per case: cookies one answer sets must not reach the next case.
        try:
            with BoundedBodySession(target.body_s) as session:
                response = case.call(
                    base_url=base_url,
                    session=session,
                    headers=auth_headers,
                    timeout=REQUEST_TIMEOUT_S,
                )
        except requests.Timeout:
            run.timeouts += 1
            return
        except requests.ConnectionError as exc:
            # A body that stops arriving surfaces as a connection error wrapping a
            # read timeout: slow, not wrong, for the properties SEC-10 checks.
            if "timed out" in str(exc).lower():
                run.timeouts += 1
                return
            problems.append(
                Problem("no answer", type(exc).__name__, _curl(case, masked, base_url))
            )
            return
        except requests.RequestException as exc:
            problems.append(
                Problem("no answer", type(exc).__name__, _curl(case, masked, base_url))
            )
            return
        run.cut_short += response.stream_cut_short
        problem = _judge(case, response, mode, auth_headers)
        if problem is not None:
            problems.append(
                Problem(problem[0], problem[1], _curl(case, masked, base_url))
            )

    probe()


def _judge(
    case: Case[Any],
    response: Response,
    mode: GenerationMode,
    headers: dict[str, str],
) -> tuple[str, str] | None:
    status = response.status_code
    if status >= 500:
        kind = (
            "server error on invalid input"
            if mode == GenerationMode.NEGATIVE
            else "server error"
        )
        return kind, f"{case.method} {case.formatted_path} answered {status}"
    trace = find_stack_trace(response.text[:65536])
    if trace is not None:
        return (
            "stack trace",
            f"{case.method} {case.formatted_path}: the body carries a stack trace",
        )
    if mode == GenerationMode.NEGATIVE:
        return None
    excluded = [ignored_auth]
    if response.stream_cut_short:
        # Only the body's beginning arrived: status, headers and media type are judged,
        # its schema is not.
        excluded.append(response_schema_conformance)
    try:
        case.validate_response(response, headers=headers, excluded_checks=excluded)
    except Exception as exc:  # schemathesis raises a group of its check failures
        return (
            "nonconforming response",
            f"{case.method} {case.formatted_path}: {_titles(exc)}",
        )
    return None


def _curl(case: Case[Any], masked: Mapping[str, str], base_url: str) -> str:
    try:
        return case.as_curl_command(headers=dict(masked), base_url=base_url)
    except (TypeError, ValueError):
        return f"{case.method} {case.formatted_path}"


def _titles(exc: BaseException) -> str:
    """The failed schemathesis checks' titles, on one line."""
    parts = getattr(exc, "exceptions", None) or [exc]
    titles = [
        str(getattr(p, "title", "") or str(p).strip().splitlines()[0]) for p in parts
    ]
    return "; ".join(t for t in titles if t) or type(exc).__name__
