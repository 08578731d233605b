"""The debug surface: switch debug logs at runtime, and take a CPU profile.

- `GET /debug?debug-logs=on|off` sets the log level to debug, or back to the
  configured one, without a restart, and answers `{"debug-logs": "on"}` (the
  guide's library convention); without the parameter it reports the state.
- `GET /debug/pprof/profile?seconds=N` profiles the event loop's thread for N
  seconds (at most `MAX_PROFILE_S`) with the standard library's `cProfile`
  and answers the `pstats` report as text: the Python stand-in for Go's pprof.
  One profile runs at a time; a second caller gets 409.

Both need the Basic credentials: a debug switch or a profiler that anyone can
call lets strangers flood the logs or slow the service. The routes are left
out of the OpenAPI document, which describes the public API.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import logging
import pstats
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import PlainTextResponse

from reference_service.api.deps import BasicUser, SettingsDep
from reference_service.log_config import set_level

logger = logging.getLogger(__name__)

MAX_PROFILE_S: Final = 30.0
_PROFILE_LINES = 40
_profiling = asyncio.Lock()

router = APIRouter(prefix="/debug", tags=["debug"], include_in_schema=False)


def _debug_enabled() -> bool:
    return logging.getLogger().getEffectiveLevel() <= logging.DEBUG


@router.get("")
async def debug_logs(
    user: BasicUser,
    settings: SettingsDep,
    debug_logs: Annotated[
        Literal["on", "off"] | None, Query(alias="debug-logs")
    ] = None,
) -> dict[str, Any]:
    """Switch debug logs on or off, or report whether they are on."""
    if debug_logs is not None:
        configured = settings.log_level if settings.log_level != "debug" else "info"
        level = "debug" if debug_logs == "on" else configured
        previous = set_level(level)
        logger.info(
            "log level changed",
            extra={"log.previous_level": previous, "log.level": level, "user": user},
        )

    return {"debug-logs": "on" if _debug_enabled() else "off"}


@router.get("/pprof/profile", response_class=PlainTextResponse)
async def cpu_profile(
    user: BasicUser,
    seconds: Annotated[float, Query(gt=0, le=MAX_PROFILE_S)] = 1.0,
) -> PlainTextResponse:
    """Profile what the event loop runs for `seconds`; answer the top functions."""
    if _profiling.locked():
        raise HTTPException(409, detail="a profile is already being taken")

    async with _profiling:
        profiler = cProfile.Profile()
        profiler.enable()
        try:
            await asyncio.sleep(seconds)
        finally:
            profiler.disable()

    report = io.StringIO()
    stats = pstats.Stats(profiler, stream=report)
    stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(_PROFILE_LINES)
    logger.info("cpu profile taken", extra={"seconds": seconds, "user": user})
    return PlainTextResponse(report.getvalue())
