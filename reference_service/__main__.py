"""`python -m reference_service`: check the configuration, then serve.

A configuration error is reported on one line naming the variable, with exit
code 2 and no traceback: the operator needs the fix, not our call stack.
"""

from __future__ import annotations

import sys

from pydantic import ValidationError

from reference_service.settings import describe_errors, get_settings

EXIT_CONFIG = 2


def main() -> int:
    """Load settings, configure logging, serve; return the exit code."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        print(
            f"configuration error: {'; '.join(describe_errors(exc))}", file=sys.stderr
        )
        return EXIT_CONFIG

    # Imported after the check so a bad configuration fails fast and quietly.
    from reference_service.app import create_app
    from reference_service.log_config import configure_logging
    from reference_service.server import serve

    configure_logging(settings.log_level)
    return serve(create_app(settings), settings)


if __name__ == "__main__":
    sys.exit(main())
