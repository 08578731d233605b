"""Read a health body in any of the shapes the catalogue accepts.

Three shapes are common: the guide's library (``uptime``, ``version`` and a ``status``
map of dependency to ``OK``/``NOT OK``), the IETF ``application/health+json`` draft
(``status`` pass/warn/fail with ``checks`` keyed ``component:measurement``), and
Spring Boot's actuator (``status`` UP/DOWN with ``components``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

IETF_STATUSES: Final = {
    "pass": True,
    "ok": True,
    "up": True,
    "warn": True,
    "fail": False,
    "error": False,
    "down": False,
}
SPRING_STATUSES: Final = {
    "UP": True,
    "DOWN": False,
    "OUT_OF_SERVICE": False,
    "UNKNOWN": False,
}


@dataclass(frozen=True)
class HealthReport:
    """A health body reduced to what the checks judge."""

    shape: str
    healthy: bool
    dependencies: dict[str, bool] = field(default_factory=dict)

    def failing(self) -> list[str]:
        return sorted(name for name, ok in self.dependencies.items() if not ok)


def read_health(body: Any) -> HealthReport | None:
    """The body as a :class:`HealthReport`, or ``None`` if it fits no accepted shape."""
    if not isinstance(body, dict):
        return None

    for reader in (_guide, _spring, _ietf):
        report = reader(body)
        if report is not None:
            return report
    return None


def _guide(body: dict[str, Any]) -> HealthReport | None:
    if "uptime" not in body or "version" not in body:
        return None
    status = body.get("status", {})
    if not isinstance(status, dict):
        return None

    dependencies = {
        str(name): str(value).upper() == "OK" for name, value in status.items()
    }
    return HealthReport(
        "guide (uptime, version, status map)", all(dependencies.values()), dependencies
    )


def _ietf(body: dict[str, Any]) -> HealthReport | None:
    status = body.get("status")
    if not isinstance(status, str) or status.lower() not in IETF_STATUSES:
        return None
    checks = body.get("checks", {})
    if not isinstance(checks, dict):
        return None

    dependencies: dict[str, bool] = {}
    for key, entries in checks.items():
        name = str(key).split(":")[0]
        items = entries if isinstance(entries, list) else [entries]
        states = [
            IETF_STATUSES.get(str(e.get("status", "pass")).lower(), False)
            for e in items
            if isinstance(e, dict)
        ]
        dependencies[name] = dependencies.get(name, True) and all(states)
    return HealthReport("IETF health+json", IETF_STATUSES[status.lower()], dependencies)


def _spring(body: dict[str, Any]) -> HealthReport | None:
    status = body.get("status")
    if not isinstance(status, str) or status not in SPRING_STATUSES:
        return None
    components = body.get("components", body.get("details", {}))
    if not isinstance(components, dict):
        return None

    dependencies = {
        str(name): isinstance(value, dict)
        and SPRING_STATUSES.get(str(value.get("status")), False)
        for name, value in components.items()
    }
    return HealthReport("Spring actuator", SPRING_STATUSES[status], dependencies)
