"""Canary secrets for LOG-05: fresh values per run, and where they turned up.

Each place the catalogue lists (a Basic password, an API key, a bearer token, a cookie,
the ``token`` and ``api_key`` query values, a ``password`` body field) gets a value of
its own, so a finding can say which place leaked. The values are masked in every report
from the moment they exist; the scans below read the raw data, never the evidence.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from conformance.redaction import Redactor
from conformance.settings import Settings

PREFIX: Final = "canary-"
BASIC: Final = "Basic password"
API_KEY: Final = "API key"
BEARER: Final = "bearer token"
COOKIE: Final = "cookie"
TOKEN_QUERY: Final = "?token= query value"
API_KEY_QUERY: Final = "?api_key= query value"
PASSWORD_FIELD: Final = "password body field"
PLACES: Final = {
    BASIC: "basic",
    API_KEY: "apikey",
    BEARER: "bearer",
    COOKIE: "cookie",
    TOKEN_QUERY: "token",
    API_KEY_QUERY: "apikeyq",
    PASSWORD_FIELD: "password",
}
# Credential fields that are secret; user names and client ids are not.
SECRET_FIELDS: Final = ("password", "value", "token", "client_secret", "signing_key")
MIN_PROFILE_SECRET: Final = 8


@dataclass(frozen=True)
class Leak:
    """One secret found where it must not be."""

    secret: str
    where: str
    excerpt: str


class Canaries:
    """The run's canaries by place, plus the profile's own secrets to look for."""

    def __init__(self, settings: Settings, redactor: Redactor) -> None:
        self.username = _basic_username(settings)
        self.values = {
            place: f"{PREFIX}{tag}-{secrets.token_hex(8)}"
            for place, tag in PLACES.items()
        }
        for value in self.values.values():
            redactor.add_secret(value)
        redactor.add_basic_credentials(self.username, self.values[BASIC])
        self._forms = {
            f"the {place} canary": _forms(value, self.username)
            for place, value in self.values.items()
        }
        for scheme in settings.credentials.schemes():
            found = settings.credentials.for_scheme(scheme) or {}
            for name in SECRET_FIELDS:
                value = found.get(name, "")
                if len(value) >= MIN_PROFILE_SECRET:
                    label = f"the profile's {scheme} {name.replace('_', ' ')}"
                    self._forms[label] = _forms(value, found.get("username", ""))

    def __getitem__(self, place: str) -> str:
        return self.values[place]

    def basic_header(self) -> str:
        pair = f"{self.username}:{self.values[BASIC]}"
        return "Basic " + base64.b64encode(pair.encode()).decode()

    def found_in(self, text: str) -> list[str]:
        """Labels of the secrets that occur in ``text``, raw or Base64-encoded."""
        return [
            label
            for label, forms in self._forms.items()
            if any(form in text for form in forms)
        ]

    def scan(self, texts: Iterable[tuple[str, str]]) -> list[Leak]:
        """Every secret found in ``(where, text)`` pairs; ``text`` stays raw here."""
        leaks: list[Leak] = []
        for where, text in texts:
            for label in self.found_in(text):
                leaks.append(Leak(label, where, text))
        return leaks


def flatten(value: Any, depth: int = 0) -> Iterator[str]:
    """Every string and number inside attribute values, nested ones too."""
    if depth > 8:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from flatten(item, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from flatten(item, depth + 1)
    elif isinstance(value, bytes):
        yield value.decode("utf-8", errors="replace")
    elif value is not None:
        yield str(value)


def _forms(value: str, username: str) -> tuple[str, ...]:
    encoded = base64.b64encode(value.encode()).decode()
    forms = [value, encoded]
    if username:
        forms.append(base64.b64encode(f"{username}:{value}".encode()).decode())
    return tuple(forms)


def _basic_username(settings: Settings) -> str:
    for scheme in settings.credentials.schemes():
        found = settings.credentials.for_scheme(scheme) or {}
        if found.get("username"):
            return found["username"]
    return "conformance"
