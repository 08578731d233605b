"""Health bodies in every accepted shape are read the same way."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.health_shapes import read_health


@pytest.mark.parametrize(
    ("body", "healthy", "dependencies"),
    [
        (
            {"uptime": 3, "version": "1", "status": {"database": "OK"}},
            True,
            {"database": True},
        ),
        (
            {"uptime": 3, "version": "1", "status": {"db": "NOT OK"}},
            False,
            {"db": False},
        ),
        ({"uptime": 3, "version": "1"}, True, {}),
        (
            {
                "status": "pass",
                "checks": {"database:responseTime": [{"status": "pass"}]},
            },
            True,
            {"database": True},
        ),
        (
            {"status": "fail", "checks": {"cache": [{"status": "fail"}]}},
            False,
            {"cache": False},
        ),
        ({"status": "UP", "components": {"db": {"status": "UP"}}}, True, {"db": True}),
        ({"status": "DOWN"}, False, {}),
    ],
)
def test_accepted_shapes_are_read(
    body: dict[str, Any], healthy: bool, dependencies: dict[str, bool]
) -> None:
    """The guide's, IETF and Spring shapes yield overall health and per-dependency status."""
    report = read_health(body)

    assert report is not None
    assert report.healthy is healthy
    assert report.dependencies == dependencies


@pytest.mark.parametrize("body", ["OK", ["ok"], {"healthy": True}, {"status": 1}, None])
def test_other_bodies_fit_no_shape(body: Any) -> None:
    """Plain text, lists and ad-hoc objects are not health reports."""
    assert read_health(body) is None
