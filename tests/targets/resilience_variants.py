"""Variants of the reference service lacking one resilience or configuration pattern.

Run as ``python resilience_variants.py NAME``: the named function patches one piece of
the reference service in this process, then the real ``python -m reference_service``
entry point runs. The patches live here, in the tests; the template has none of them.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import reference_service.__main__ as entry
import reference_service.api.routes.orders as orders
import reference_service.app
import reference_service.log_config
import reference_service.server as server
import reference_service.telemetry
from reference_service.health import Health
from reference_service.settings import get_settings

VARIANTS: dict[str, Callable[[], None]] = {}


def variant(function: Callable[[], None]) -> Callable[[], None]:
    VARIANTS[function.__name__] = function
    return function


def _configure_server(**changes: Any) -> None:
    """Change uvicorn's configuration as the reference's GracefulServer receives it."""
    original = server.GracefulServer.__init__

    def configured(self: Any, config: Any, *args: Any, **kwargs: Any) -> None:
        for name, value in changes.items():
            setattr(config, name, value)
        original(self, config, *args, **kwargs)

    server.GracefulServer.__init__ = configured  # type: ignore[method-assign]


@variant
def no_read_timeouts() -> None:
    """uvicorn's own h11 protocol: no header or body read deadline."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    server.timed_protocol = lambda settings: H11Protocol  # type: ignore[assignment,return-value]


@variant
def no_idle_timeout() -> None:
    """Keep-alive connections are kept for an hour."""
    _configure_server(timeout_keep_alive=3600)


@variant
def huge_header_limit() -> None:
    """Headers of any size up to 64 MiB are read and served."""
    server.MAX_HEADER_BYTES = 1 << 26


@variant
def limited_concurrency() -> None:
    """A cap on connections that a handful of slow clients reach."""
    _configure_server(limit_concurrency=16)


@variant
def exits_at_once() -> None:
    """SIGTERM ends the process on the spot, requests in flight and all."""

    def exit_now(self: server.GracefulServer, sig: int, frame: object) -> None:
        os._exit(0)

    server.GracefulServer.handle_exit = exit_now  # type: ignore[method-assign]


@variant
def never_unready() -> None:
    """Drains on SIGTERM but readiness keeps answering 200."""
    Health.begin_shutdown = lambda self: None  # type: ignore[method-assign]


@variant
def exits_without_flush() -> None:
    """Telemetry is not shut down and the process ends without running atexit."""

    async def skip(self: Any, timeout: float = 0.0) -> None:
        return None

    os.environ["OTEL_BSP_SCHEDULE_DELAY"] = "5000"
    reference_service.telemetry.Telemetry.shutdown = skip  # type: ignore[method-assign]
    code = entry.main()
    sys.stdout.flush()
    os._exit(code)


@variant
def stream_blocks_exit() -> None:
    """Streams are not told to end and the server waits for them without a bound."""
    lines = orders._order_lines

    class NeverStopping:
        shutting_down = False

    def endless(repo: Any, limit: int, follow_s: float, health: Any) -> Any:
        return lines(repo, limit, follow_s, NeverStopping())  # type: ignore[arg-type]

    orders._order_lines = endless
    _configure_server(timeout_graceful_shutdown=None)


@variant
def health_ignores_dependencies() -> None:
    """Health answers 200 with every dependency OK, whatever they do."""

    async def all_ok(self: Health) -> dict[str, str]:
        return {p.name: "OK" for p in self.pingers}

    Health.check = all_ok  # type: ignore[assignment,method-assign]


@variant
def health_hangs_on_stall() -> None:
    """Dependency pings wait 30 s, so health hangs while a dependency stalls."""
    os.environ["DEPENDENCY_TIMEOUT"] = "30s"
    reference_service.app.PING_TIMEOUT = 30.0
    reference_service.app.Health = functools.partial(Health, timeout=30.0)  # type: ignore[misc]


@variant
def traceback_on_bad_configuration() -> None:
    """Settings are read outside the check that reports errors on one line."""
    get_settings()


@variant
def ignores_log_level() -> None:
    """Logs at debug whatever LOG_LEVEL says."""
    configure = reference_service.log_config.configure_logging

    def always_debug(level: str = "info", stream: Any = None) -> None:
        configure("debug", stream)

    reference_service.log_config.configure_logging = always_debug


if __name__ == "__main__":
    VARIANTS[sys.argv[1]]()
    sys.exit(entry.main())
