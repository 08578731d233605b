"""Spot secrets and internals in text the target sends back.

Used wherever the catalogue says a response must expose no secrets, stack traces or
internals (health bodies, error bodies). The patterns are deliberately specific, so a
finding names what leaked and where.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

STACK_TRACES: Final = (
    re.compile(r"Traceback \(most recent call last\)"),
    re.compile(r'File "[^"]+", line \d+'),
    re.compile(r"\n\s+at [\w$.]+\([\w$]+\.(java|kt|scala):\d+\)"),
    re.compile(r"goroutine \d+ \[[a-z ]+\]:"),
    re.compile(r"\n\s+at .+ \(.+\.[cm]?[jt]s:\d+:\d+\)"),
    re.compile(r"System\.\w+Exception: .*\n\s+at "),
)
URL_WITH_PASSWORD: Final = re.compile(
    r"\b[a-z][a-z0-9+.-]*://[^/\s:@\"']+:[^@\s/\"']+@"
)
PRIVATE_KEY: Final = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
SECRET_KEY_NAMES: Final = re.compile(
    r"(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Leak:
    what: str
    excerpt: str


def find_stack_trace(text: str) -> Leak | None:
    for pattern in STACK_TRACES:
        match = pattern.search(text)
        if match:
            return Leak("a stack trace", _around(text, match.start()))
    return None


def find_leaks(text: str, body: Any, secrets: Iterable[str]) -> list[Leak]:
    """Every leak in a response: known secrets, credentials in URLs, keys, traces."""
    leaks: list[Leak] = []
    for secret in secrets:
        if secret and secret in text:
            leaks.append(Leak("a configured credential", "[REDACTED]"))
    match = URL_WITH_PASSWORD.search(text)
    if match:
        scheme = match.group(0).split("://")[0]
        leaks.append(
            Leak("a URL with an embedded password", f"{scheme}://…:[REDACTED]@")
        )
    match = PRIVATE_KEY.search(text)
    if match:
        leaks.append(Leak("a private key", match.group(0)))
    trace = find_stack_trace(text)
    if trace:
        leaks.append(trace)
    leaks.extend(_secret_fields(body))
    return leaks


def _secret_fields(body: Any, path: str = "", depth: int = 0) -> list[Leak]:
    if depth > 20:
        return []
    if isinstance(body, dict):
        found: list[Leak] = []
        for key, value in body.items():
            where = f"{path}.{key}" if path else str(key)
            if SECRET_KEY_NAMES.search(str(key)) and isinstance(value, str) and value:
                found.append(
                    Leak(f"a secret-looking field {where!r}", "[value withheld]")
                )
            found.extend(_secret_fields(value, where, depth + 1))
        return found
    if isinstance(body, list):
        return [leak for v in body for leak in _secret_fields(v, path, depth + 1)]
    return []


def _around(text: str, start: int, width: int = 80) -> str:
    return text[max(0, start - 10) : start + width].replace("\n", "\\n")
