"""The CI recipes in docs/ci parse, and the commands they run exist."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.cli import _parser
from tests.support import REPO

RECIPES = sorted((REPO / "docs" / "ci").glob("*.yml"))


def commands(document: Any) -> list[str]:
    """Every shell line of a workflow or pipeline: run steps and script entries."""
    found: list[str] = []
    if isinstance(document, dict):
        for key, value in document.items():
            if key in ("run", "script") and isinstance(value, str):
                found.append(value)
            elif key == "script" and isinstance(value, list):
                found += [str(v) for v in value]
            else:
                found += commands(value)
    elif isinstance(document, list):
        for item in document:
            found += commands(item)
    return found


@pytest.mark.parametrize("recipe", RECIPES, ids=[r.name for r in RECIPES])
def test_recipes_parse_and_use_existing_commands(recipe: Path) -> None:
    """Each recipe is valid YAML whose suite and gate commands this package provides."""
    document = yaml.safe_load(recipe.read_text())
    lines = commands(document)

    assert any("python -m pytest" in line for line in lines)
    assert any("python -m conformance gate" in line for line in lines)
    pytest_help = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    for line in lines:
        words = shlex.split(line)
        if words[:3] == ["python", "-m", "pytest"]:
            options = [w.split("=")[0] for w in words if w.startswith("--")]
            assert all(option in pytest_help for option in options), options
        if words[:3] == ["python", "-m", "conformance"]:
            _parser().parse_args(words[3:])
