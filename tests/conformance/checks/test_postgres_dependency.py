"""HLT-02 through the TCP fault proxy, with the reference service on real PostgreSQL.

These tests start Debian's PostgreSQL server themselves on a loopback port; without it
they skip, saying which package to install.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest

from tests.pg_server import absent_reason, postgres_server
from tests.support import REPO

DEMO_PROFILE = REPO / "reference_service" / "conformance.toml"
VARIANTS = REPO / "tests" / "targets" / "resilience_variants.py"
EMBEDDED = 'name = "database"\nkind = "embedded"'
TCP = 'name = "database"\nkind = "tcp"'


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    reason = absent_reason()
    if reason is not None:
        pytest.skip(reason)
    with postgres_server() as url:
        yield url


def _profile(pytester: pytest.Pytester, url: str) -> str:
    text = DEMO_PROFILE.read_text()
    assert EMBEDDED in text
    text = text.replace(EMBEDDED, TCP).replace(
        'DATABASE_URL = "sqlite:///{instance_dir}/orders.db"', f'DATABASE_URL = "{url}"'
    )
    return str(pytester.makefile(".toml", conformance=text))


def _hlt02(pytester: pytest.Pytester, url: str, command: str) -> dict[str, object]:
    pytester.runpytest(
        "--profile", _profile(pytester, url), "--target-cmd", command, "-k", "HLT-02"
    )
    report = json.loads((pytester.path / "reports" / "conformance.json").read_text())
    [entry] = [c for c in report["checks"] if c["id"] == "HLT-02"]
    return dict(entry)


@pytest.mark.usefixtures("secrets_env")
def test_reference_on_postgres_reports_each_database_fault(
    pytester: pytest.Pytester, postgres_url: str
) -> None:
    """Refused, reset and stalled PostgreSQL each give a prompt 503, then recovery."""
    entry = _hlt02(pytester, postgres_url, f"{sys.executable} -m reference_service")

    assert entry["outcome"] == "passed", entry["message"]
    evidence = entry["evidence"]
    assert isinstance(evidence, dict)
    [notes] = [
        o["value"]
        for o in evidence["observations"]
        if o["label"] == "dependency database"
    ]
    for fault in ("refuse", "reset", "stall"):
        assert f"{fault}: 503" in notes
    assert "recovered: 200" in notes


@pytest.mark.usefixtures("secrets_env")
def test_health_that_ignores_postgres_fails(
    pytester: pytest.Pytester, postgres_url: str
) -> None:
    """A health check that stays 200 while PostgreSQL is down fails HLT-02."""
    command = f"{sys.executable} {VARIANTS} health_ignores_dependencies"

    entry = _hlt02(pytester, postgres_url, command)

    assert entry["outcome"] == "failed"
    assert "with database in fault 'refuse' health answered 200" in str(
        entry["message"]
    )
