"""Keys for what the plugin keeps in ``config.stash`` and ``item.stash``."""

from __future__ import annotations

import pytest

from conformance.evidence import Evidence
from conformance.runtime import Runtime

RUNTIME_KEY = pytest.StashKey[Runtime]()
EVIDENCE_KEY = pytest.StashKey[Evidence]()
DURATION_KEY = pytest.StashKey[float]()
