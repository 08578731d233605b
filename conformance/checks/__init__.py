"""The built-in checks, one module per family, each check named after its property.

Each module holds pytest test functions decorated with :func:`conformance.spec.check`.
The plugin hands these files to pytest's collection whenever a target is given.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).parent


def modules() -> list[Path]:
    """The check modules, in a stable order."""
    return sorted(p for p in PACKAGE_DIR.glob("*.py") if p.name != "__init__.py")
