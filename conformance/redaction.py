"""Keep secrets out of everything the suite records.

Every piece of evidence passes through one :class:`Redactor` before it is stored, and the
report writers pass their output through it again. It knows the secret values themselves
(credentials read from the profile's variables, canaries) and the places secrets travel
(credential headers, credential-like query parameters).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK: Final = "[REDACTED]"

SECRET_HEADERS: Final = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)
SECRET_QUERY_PARAMS: Final = frozenset(
    {"token", "access_token", "api_key", "apikey", "key", "password", "secret"}
)
MIN_SECRET_LENGTH: Final = 4


class Redactor:
    """Replaces known secrets and secret-bearing fields with a mask."""

    def __init__(
        self, secrets: Iterable[str] = (), headers: Iterable[str] = ()
    ) -> None:
        self._secrets: set[str] = set()
        self._headers = set(SECRET_HEADERS) | {name.lower() for name in headers}
        self._pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, secret: str) -> None:
        """Mask ``secret`` wherever it appears from now on, also in Basic encoding."""
        if len(secret) < MIN_SECRET_LENGTH:
            return

        self._secrets.add(secret)
        self._secrets.add(base64.b64encode(secret.encode()).decode())
        self._pattern = None

    def add_basic_credentials(self, username: str, password: str) -> None:
        """Mask a Basic credential pair in both plain and encoded form."""
        self.add_secret(password)
        self.add_secret(base64.b64encode(f"{username}:{password}".encode()).decode())

    def add_header(self, name: str) -> None:
        """Treat header ``name`` (an API key header, say) as secret-bearing."""
        self._headers.add(name.lower())

    def is_secret_header(self, name: str) -> bool:
        return name.lower() in self._headers

    def text(self, value: str) -> str:
        """``value`` with every known secret masked."""
        pattern = self._compiled()
        if pattern is None:
            return value

        return pattern.sub(MASK, value)

    def header(self, name: str, value: str) -> str:
        if self.is_secret_header(name):
            scheme, _, credential = value.partition(" ")
            if credential and scheme.isalpha() and name.lower() != "cookie":
                return f"{scheme} {MASK}"
            return MASK

        return self.text(value)

    def url(self, url: str) -> str:
        """``url`` with userinfo, secret query values and known secrets masked."""
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{MASK}@{netloc.rpartition('@')[2]}"

        query = parts.query
        if query:
            pairs = [
                (key, MASK if key.lower() in SECRET_QUERY_PARAMS else value)
                for key, value in parse_qsl(query, keep_blank_values=True)
            ]
            query = urlencode(pairs, safe="[]")

        rebuilt = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
        return self.text(rebuilt)

    def _compiled(self) -> re.Pattern[str] | None:
        if self._pattern is None and self._secrets:
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

        return self._pattern
