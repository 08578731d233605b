"""Health, liveness and readiness endpoints.

`/healthz` pings every dependency in parallel, each under its own timeout, so
the answer always comes within a second even when a dependency hangs. Adding a
dependency (an HTTP inventory service, a cache) means adding one `Pinger`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

logger = logging.getLogger(__name__)

PING_TIMEOUT = 0.5
NO_SECURITY: dict[str, Any] = {"security": []}

Status = Literal["OK", "NOT OK"]


class Pinger(Protocol):
    """A dependency that health checks can reach."""

    @property
    def name(self) -> str:
        """The key under which the dependency appears in the health body."""
        ...

    async def ping(self) -> None:
        """Return when the dependency answers; raise when it does not."""
        ...


@dataclass(frozen=True)
class CallablePinger:
    """Adapts any `async def ping()` (a repository's, a client's) to a Pinger."""

    name: str
    check: Callable[[], Awaitable[None]]

    async def ping(self) -> None:
        await self.check()


@dataclass
class Health:
    """The service's health state: its dependencies and where it is in its life."""

    version: str
    pingers: Sequence[Pinger] = ()
    timeout: float = PING_TIMEOUT
    started_at: float = field(default_factory=time.monotonic)
    ready: bool = False
    shutting_down: bool = False

    def mark_ready(self) -> None:
        """Called when start-up is complete."""
        self.ready = True

    def begin_shutdown(self) -> None:
        """Called first thing on shutdown so load balancers stop sending work."""
        self.shutting_down = True

    def uptime(self) -> int:
        return int(time.monotonic() - self.started_at)

    async def check(self) -> dict[str, Status]:
        """Ping every dependency at once; a failure or a timeout is NOT OK."""
        results = await asyncio.gather(*(self._ping(p) for p in self.pingers))
        return {p.name: status for p, status in zip(self.pingers, results, strict=True)}

    async def _ping(self, pinger: Pinger) -> Status:
        try:
            await asyncio.wait_for(pinger.ping(), timeout=self.timeout)
        except Exception as exc:
            logger.warning(
                "health check failed",
                extra={"dependency": pinger.name, "error": repr(exc)},
            )
            return "NOT OK"

        return "OK"


class HealthBody(BaseModel):
    """The guide's health shape; `status` is absent without dependencies."""

    uptime: int
    version: str
    status: dict[str, Status] | None = None


class ProbeBody(BaseModel):
    """Liveness and readiness answers."""

    status: Status
    reason: str | None = None


def get_health(request: Request) -> Health:
    return cast(Health, request.app.state.health)


router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=HealthBody,
    response_model_exclude_none=True,
    responses={503: {"model": HealthBody, "description": "A dependency failed."}},
    openapi_extra=NO_SECURITY,
)
async def healthz(request: Request, response: Response) -> HealthBody:
    """Report uptime, version and each dependency's status."""
    health = get_health(request)
    statuses = await health.check()
    if any(status != "OK" for status in statuses.values()):
        response.status_code = 503

    return HealthBody(
        uptime=health.uptime(),
        version=health.version,
        status=statuses or None,
    )


@router.get(
    "/livez",
    response_model=ProbeBody,
    response_model_exclude_none=True,
    openapi_extra=NO_SECURITY,
)
async def livez() -> ProbeBody:
    """Answer while the process can serve at all; never checks dependencies."""
    return ProbeBody(status="OK")


@router.get(
    "/readyz",
    response_model=ProbeBody,
    response_model_exclude_none=True,
    responses={503: {"model": ProbeBody, "description": "Not ready for traffic."}},
    openapi_extra=NO_SECURITY,
)
async def readyz(request: Request, response: Response) -> ProbeBody:
    """Say whether to send traffic here: started, not stopping, dependencies OK."""
    health = get_health(request)
    reason = await _not_ready_reason(health)
    if reason is None:
        return ProbeBody(status="OK")

    response.status_code = 503
    return ProbeBody(status="NOT OK", reason=reason)


async def _not_ready_reason(health: Health) -> str | None:
    if health.shutting_down:
        return "shutting down"
    if not health.ready:
        return "starting"

    failed = [name for name, status in (await health.check()).items() if status != "OK"]
    if failed:
        return f"dependency not OK: {', '.join(failed)}"

    return None
