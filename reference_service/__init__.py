"""Reference service: a FastAPI template that implements the production patterns.

Teams copy this package as the start of a new service; see README.md.
"""

from __future__ import annotations

__version__ = "0.1.0"
