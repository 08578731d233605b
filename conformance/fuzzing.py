"""Generated requests for one operation, through schemathesis, bounded in count and time.

schemathesis turns the OpenAPI document into Hypothesis strategies and knows which
response properties to check against it. Its check that replays requests with broken
credentials is left out: authentication is SEC-02 and SEC-03's, and the replays would
count as failed attempts against a rate-limited target. This module only runs a bounded
number of its cases against the target with the profile's credentials and collects what
went wrong, each with a command that reproduces it (credentials masked).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import requests
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, Response, openapi
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth

from conformance.leaks import find_stack_trace
from conformance.redaction import MASK

REQUEST_TIMEOUT_S: Final = 5.0


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
            base_url,
            dict(auth_headers),
            examples,
            deadline,
            problems,
            run,
        )
    return problems, run


def _run_mode(
    operation: Any,
    mode: GenerationMode,
    base_url: str,
    auth_headers: dict[str, str],
    examples: int,
    deadline: float,
    problems: list[Problem],
    run: FuzzRun,
) -> None:
    """Send up to ``examples`` generated cases of one mode, until ``deadline``."""
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
        try:
            response = case.call(
                base_url=base_url, headers=auth_headers, timeout=REQUEST_TIMEOUT_S
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
    try:
        case.validate_response(
            response, headers=headers, excluded_checks=[ignored_auth]
        )
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
