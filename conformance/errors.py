"""The three kinds of trouble the suite keeps apart.

::

    ConformanceError
    ├── UsageError          the invocation or the profile is wrong; the run stops at once
    │   └── ProfileError    the profile file does not parse or names an unset variable
    ├── ProbeError          the target could not be probed: refused, timed out, garbage
    │   └── LaunchError     the launched target exited or never answered
    └── CheckFailed         the target was probed and does not follow the pattern

``UsageError`` becomes pytest's own usage error (exit code 4) at the plugin boundary.
``ProbeError`` ends a check with the outcome ``error``; ``CheckFailed`` with ``failed``.
Library exceptions (httpx, yaml, tomllib, pydantic) are translated where they are raised.
"""

from __future__ import annotations

from typing import Any, Literal

Severity = Literal["error", "warning"]


class ConformanceError(Exception):
    """Base of every exception the suite raises on purpose."""


class UsageError(ConformanceError):
    """The user's command line, environment or profile is wrong."""


class ProfileError(UsageError):
    """The target profile cannot be used as written."""


class ProbeError(ConformanceError):
    """The target could not be probed, so no verdict on the pattern is possible."""


class LaunchError(ProbeError):
    """The target command did not come up on the address it was given."""


class CheckFailed(AssertionError, ConformanceError):
    """The target does not follow the pattern a check verifies.

    It derives from ``AssertionError`` so that pytest counts it as a failure and users'
    own checks can mix plain ``assert`` statements with it.
    """

    def __init__(
        self,
        message: str,
        *,
        expected: Any = None,
        observed: Any = None,
        severity: Severity = "error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.observed = observed
        self.severity: Severity = severity
