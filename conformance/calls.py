"""Send the requests a profile describes, with the credentials their scheme needs."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from conformance.auth import Presented, present
from conformance.openapi.security import SecurityModel, SecurityScheme
from conformance.probe import HttpProbe, ProbeResponse
from conformance.profile import CredentialRef, RequestSpec
from conformance.settings import Settings


class Caller:
    """Turns :class:`RequestSpec` entries into authenticated probes."""

    def __init__(
        self,
        http: HttpProbe,
        settings: Settings,
        model: SecurityModel | None,
    ) -> None:
        self.http = http
        self.settings = settings
        self.model = model

    def call(
        self,
        spec: RequestSpec,
        headers: Mapping[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> ProbeResponse:
        """Send ``spec``; skip the check when its credentials are not configured."""
        presented = (
            self.credentials(spec.auth, spec.scopes) if spec.auth else Presented()
        )
        merged = {**spec.headers, **presented.headers, **(headers or {})}
        if presented.cookies:
            merged["Cookie"] = "; ".join(
                f"{k}={v}" for k, v in presented.cookies.items()
            )
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
                f"[credentials.{scheme_name}] to the profile with the variables that hold them"
            )
        return present(self._scheme(scheme_name, reference), secrets, reference, scopes)

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
