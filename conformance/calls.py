"""Send the requests a profile describes, with the credentials their scheme needs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import pytest

from conformance.auth import Presented, present
from conformance.openapi.security import SecurityModel, SecurityScheme
from conformance.probe import HttpProbe, ProbeResponse
from conformance.profile import CredentialRef, RequestSpec
from conformance.settings import Settings
from conformance.stubs.http_stub import MODES, DependencyStub, Mode


class Caller:
    """Turns :class:`RequestSpec` entries into authenticated probes."""

    def __init__(
        self,
        http: HttpProbe,
        settings: Settings,
        model: SecurityModel | None,
        stubs: Mapping[str, DependencyStub] | None = None,
    ) -> None:
        self.http = http
        self.settings = settings
        self.model = model
        self.stubs = dict(stubs or {})

    def call(
        self,
        spec: RequestSpec,
        headers: Sequence[tuple[str, str]] = (),
        timeout_s: float | None = None,
    ) -> ProbeResponse:
        """Send ``spec``; skip the check when its credentials or stubs are missing."""
        presented = (
            self.credentials(spec.auth, spec.scopes) if spec.auth else Presented()
        )
        merged = [*spec.headers.items(), *presented.headers.items(), *headers]
        if presented.cookies:
            cookie = "; ".join(f"{k}={v}" for k, v in presented.cookies.items())
            merged.append(("Cookie", cookie))

        with self._faults(spec.faults):
            return self.http.request(
                spec.method.upper(),
                spec.path,
                headers=merged,
                json_body=spec.json_body,
                params=presented.params or None,
                timeout_s=timeout_s,
            )

    def credentials(self, scheme_name: str, scopes: list[str]) -> Presented:
        secrets = self.settings.credentials.for_scheme(scheme_name)
        reference = self.settings.profile.credentials.get(scheme_name)
        if secrets is None or reference is None:
            pytest.skip(
                f"needs credentials for the {scheme_name!r} scheme: add "
                f"[credentials.{scheme_name}] to the profile with the variables that "
                "hold them"
            )
        return present(
            self._scheme(scheme_name, reference),
            secrets,
            reference,
            scopes,
            base_url=self.http.base_url,
            ca_file=self.settings.profile.tls.ca_file,
        )

    @contextmanager
    def _faults(self, faults: Mapping[str, str]) -> Iterator[None]:
        """Put stubbed dependencies into the requested modes for one request."""
        missing = sorted(set(faults) - set(self.stubs))
        if missing:
            pytest.skip(
                f"needs the suite to stand in for {', '.join(missing)}: launch the target "
                'with --target-cmd and declare the dependency with kind = "http"'
            )
        try:
            for name, mode in faults.items():
                self.stubs[name].set_mode(_mode(mode))
            yield
        finally:
            for name in faults:
                self.stubs[name].set_mode("ok")

    def _scheme(self, name: str, reference: CredentialRef) -> SecurityScheme:
        if self.model is not None and name in self.model.schemes:
            return self.model.schemes[name]
        if reference.username_env:
            return SecurityScheme(name=name, type="http", scheme="basic")
        if reference.value_env:
            return SecurityScheme(
                name, "apiKey", location="header", parameter="X-API-Key"
            )
        return SecurityScheme(name=name, type="http", scheme="bearer")


def _mode(value: str) -> Mode:
    for mode in MODES:
        if mode == value:
            return mode
    pytest.skip(f"the profile asks for the stub mode {value!r}; use one of {MODES}")
