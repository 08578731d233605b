"""Configuration from the environment, resolved once into a frozen object.

`get_settings()` is cached so every part of the service sees the same values;
tests call `get_settings.cache_clear()` after changing the environment, or pass
a `Settings` straight to `create_app`.
"""

from __future__ import annotations

import re
import ssl
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple
from urllib.parse import urlsplit

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LogLevel = Literal["debug", "info", "warning", "error"]

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # Go accepts the micro sign and the Greek mu.
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)([^\d.]*)")
_DURATION_HINT = (
    "write a number and a unit (ns, us, ms, s, m, h), e.g. 10s, 1m30s, 500ms"
)
_SQLITE_PREFIX = "sqlite:///"
MIN_JWT_SECRET = 32


def parse_duration(text: str) -> float:
    """Parse a Go duration ("10s", "1m30s", "500ms") into seconds.

    Go's syntax is used because the guide's variables are written in it, so the
    same deployment files work for services in either language.
    """
    value = text.strip()
    if value in ("0", "+0"):
        return 0.0
    if not value:
        msg = f"the duration is empty; {_DURATION_HINT}"
        raise ValueError(msg)
    if value.startswith("-"):
        msg = "a timeout must not be negative"
        raise ValueError(msg)

    value = value.removeprefix("+")
    total = 0.0
    position = 0
    while position < len(value):
        match = _DURATION_PART.match(value, position)
        if match is None:
            msg = f"expected a number at {value[position:]!r}; {_DURATION_HINT}"
            raise ValueError(msg)
        number, unit = match.groups()
        if not unit:
            msg = f"missing a unit after {number!r}; {_DURATION_HINT}"
            raise ValueError(msg)
        if unit not in _UNITS:
            msg = f"unknown unit {unit!r}; {_DURATION_HINT}"
            raise ValueError(msg)
        total += float(number) * _UNITS[unit]
        position = match.end()

    return total


def _to_seconds(value: Any) -> Any:
    """Accept Go duration strings from the environment and numbers from code."""
    if isinstance(value, str):
        return parse_duration(value)
    return value


Duration = Annotated[float, BeforeValidator(_to_seconds), Field(ge=0)]


class ListenAddress(NamedTuple):
    """Where the HTTP server binds."""

    host: str
    port: int


def parse_listen_address(text: str) -> ListenAddress:
    """Parse Go's listen address forms: "host:port", ":port", "[::1]:port"."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep:
        msg = "missing the port; write host:port, :port or [::1]:port"
        raise ValueError(msg)
    if not (port_text.isascii() and port_text.isdigit()) or int(port_text) > 65535:
        msg = f"the port {port_text!r} is not a number from 0 to 65535"
        raise ValueError(msg)

    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        msg = f"an IPv6 host needs brackets: [{host}]:{port_text}"
        raise ValueError(msg)
    # Go binds every interface when the host is empty.
    return ListenAddress(host or "0.0.0.0", int(port_text))


def _to_listen_address(value: Any) -> Any:
    if isinstance(value, str):
        return parse_listen_address(value)
    return value


class Settings(BaseSettings):
    """Every knob of the service; each field reads the variable of its name."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    http_addr: Annotated[
        ListenAddress, NoDecode, BeforeValidator(_to_listen_address)
    ] = ListenAddress("0.0.0.0", 8080)
    database_url: str = Field(examples=["sqlite:///path/to/orders.db"])
    log_level: LogLevel = "info"
    service_name: str = Field(default="reference-service", min_length=1)

    read_header_timeout: Duration = 10.0
    read_timeout: Duration = 30.0
    write_timeout: Duration = 60.0
    idle_timeout: Duration = 120.0
    shutdown_grace: Duration = 30.0
    # Readiness answers 503 this long before the listener closes (load balancers).
    shutdown_drain: Duration = 5.0

    basic_auth_user: str = Field(default="admin", min_length=1)
    basic_auth_password: SecretStr = Field(examples=["a long random password"])
    api_keys: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        examples=["key-one,key-two"],
    )
    jwt_secret: SecretStr = Field(examples=["32 or more random characters"])
    jwt_issuer: str | None = None
    jwt_audience: str | None = None

    inventory_url: str | None = Field(
        default=None, examples=["http://inventory.internal:8080"]
    )
    dependency_timeout: Duration = 2.0

    trace_sample_rate_per_s: float = Field(default=10.0, ge=0, allow_inf_nan=False)
    trace_sample_burst: int = Field(default=100, ge=0)

    auth_failure_limit: int = Field(default=10, ge=1)
    auth_failure_window: Duration = 60.0

    # TLS, HSTS and CORS (transport_security.py); TLS needs both files or neither.
    tls_cert_file: str | None = Field(default=None, examples=["/etc/tls/cert.pem"])
    tls_key_file: str | None = Field(
        default=None, validate_default=True, examples=["/etc/tls/key.pem"]
    )
    cors_allowed_origins: Annotated[tuple[str, ...], NoDecode] = ()

    # The OAuth2 authorization server (oauth.py): one client and one user, enough
    # for a demo; a real service reads them from its own stores.
    oauth_client_id: str | None = None
    oauth_client_secret: SecretStr | None = Field(
        default=None, validate_default=True, examples=["a long random secret"]
    )
    oauth_redirect_uris: Annotated[tuple[str, ...], NoDecode] = ()
    oauth_user: str = Field(default="demo", min_length=1)
    oauth_user_password: SecretStr | None = None
    oauth_token_lifetime: Duration = 900.0
    oauth_refresh_lifetime: Duration = 86400.0

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_level(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value.startswith(("postgresql://", "postgres://")):
            return value
        if not value.startswith(_SQLITE_PREFIX) or value == _SQLITE_PREFIX:
            msg = (
                "must be a SQLite URL such as sqlite:///path/to/orders.db or a "
                "PostgreSQL URL such as postgresql://user@host:5432/orders"
            )
            raise ValueError(msg)
        return value

    @field_validator("inventory_url")
    @classmethod
    def _check_inventory_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parts = urlsplit(value)
        except ValueError as exc:
            msg = f"is not a URL ({exc})"
            raise ValueError(msg) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            msg = "must be an http:// or https:// URL such as http://inventory:8080"
            raise ValueError(msg)
        if parts.query or parts.fragment:
            msg = "must not carry a query or a fragment; give the base URL only"
            raise ValueError(msg)
        return value.rstrip("/")

    @field_validator("dependency_timeout")
    @classmethod
    def _check_positive(cls, value: float) -> float:
        if value <= 0:
            msg = "must be longer than zero"
            raise ValueError(msg)
        return value

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not isinstance(value, str):
            return value
        keys = tuple(key.strip() for key in value.split(",") if key.strip())
        if not keys:
            msg = "must list at least one key, separated by commas"
            raise ValueError(msg)
        return keys

    @field_validator("basic_auth_password", "jwt_secret")
    @classmethod
    def _check_not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            msg = "must not be empty"
            raise ValueError(msg)
        return value

    @field_validator(
        "tls_cert_file",
        "tls_key_file",
        "oauth_client_id",
        "oauth_client_secret",
        "oauth_user_password",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("tls_cert_file")
    @classmethod
    def _check_cert_file(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            msg = "is not a file; give the path of a PEM certificate (chain)"
            raise ValueError(msg)
        return value

    @field_validator("tls_key_file")
    @classmethod
    def _check_key_file(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "tls_cert_file" not in info.data:
            return value  # TLS_CERT_FILE has its own error already.
        cert = info.data["tls_cert_file"]
        if cert is None and value is None:
            return None
        if value is None:
            msg = "is required when TLS_CERT_FILE is set; set both or neither"
            raise ValueError(msg)
        if cert is None:
            msg = "is set without TLS_CERT_FILE; set both or neither"
            raise ValueError(msg)

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            # An empty password makes an encrypted key fail instead of prompting.
            context.load_cert_chain(cert, value, password=lambda: "")
        except (ssl.SSLError, OSError) as exc:
            msg = f"does not load with TLS_CERT_FILE ({exc}); use an unencrypted key"
            raise ValueError(msg) from None
        return value

    @field_validator("cors_allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        origins = tuple(item.strip() for item in value.split(",") if item.strip())
        for origin in origins:
            _check_origin(origin)
        return origins

    @field_validator("oauth_client_secret")
    @classmethod
    def _check_client_secret(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        if "oauth_client_id" not in info.data:
            return value
        if info.data["oauth_client_id"] is None and value is not None:
            msg = "is set without OAUTH_CLIENT_ID; set both or neither"
            raise ValueError(msg)
        if info.data["oauth_client_id"] is not None and value is None:
            msg = "is required when OAUTH_CLIENT_ID is set; set both or neither"
            raise ValueError(msg)
        return value

    @field_validator("oauth_redirect_uris", mode="before")
    @classmethod
    def _split_redirect_uris(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        uris = tuple(item.strip() for item in value.split(",") if item.strip())
        for uri in uris:
            parts = urlsplit(uri)
            # RFC 6749 section 3.1.2: absolute, and without a fragment.
            if parts.scheme not in ("http", "https") or not parts.hostname:
                msg = f"{uri!r} is not an absolute http(s) URL"
                raise ValueError(msg)
            if parts.fragment:
                msg = f"{uri!r} must not carry a fragment (RFC 6749 3.1.2)"
                raise ValueError(msg)
        return uris

    @property
    def jwt_secret_is_short(self) -> bool:
        """RFC 7518 section 3.2 wants HS256 keys of 256 bits or more."""
        return len(self.jwt_secret.get_secret_value()) < MIN_JWT_SECRET

    @property
    def database_path(self) -> str:
        """The SQLite file path: relative after three slashes, absolute after four."""
        return self.database_url.removeprefix(_SQLITE_PREFIX)


def _check_origin(origin: str) -> None:
    """An origin browsers send: scheme://host[:port]; never `*` or `null`."""
    if origin == "*":
        msg = "`*` cannot go with credentials; list each origin allowed"
        raise ValueError(msg)
    if origin == "null":
        msg = "`null` is the origin of sandboxed and local pages; list real origins"
        raise ValueError(msg)
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"{origin!r} is not an origin; write scheme://host[:port]"
        raise ValueError(msg)
    if parts.path or parts.query or parts.fragment or parts.username:
        msg = f"{origin!r} is not an origin; drop the path, write scheme://host[:port]"
        raise ValueError(msg)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the environment once; raises pydantic.ValidationError when invalid."""
    return Settings()  # type: ignore[call-arg]  # values come from the environment


# Values of these variables never appear in messages: they are secrets or may
# embed credentials (a database URL often does).
_CONCEALED = frozenset(
    {"database_url", "basic_auth_password", "api_keys", "jwt_secret", "inventory_url"}
    | {"oauth_client_secret", "oauth_user_password"},
)


def describe_errors(error: ValidationError) -> list[str]:
    """Turn a validation error into one message per variable, naming it."""
    messages: list[str] = []
    for detail in error.errors(include_url=False):
        field = str(detail["loc"][0]) if detail["loc"] else "settings"
        messages.append(_describe(field, detail))

    return messages


def _describe(field: str, detail: Any) -> str:
    variable = field.upper()
    if detail["type"] == "missing":
        examples = (
            Settings.model_fields[field].examples
            if field in Settings.model_fields
            else None
        )
        hint = f" (set it to {examples[0]})" if examples else ""
        return f"{variable} is required{hint}"

    reason = str(detail["msg"]).removeprefix("Value error, ")
    if field in _CONCEALED or not isinstance(detail.get("input"), str):
        return f"{variable} is invalid: {reason}"
    return f"{variable}={detail['input']!r} is invalid: {reason}"
