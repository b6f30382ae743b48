"""Shared bits for the counting-rule tests: where the real Pabulib elections live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Real elections shared by every checkout (read in place, never copied into the repo).
PABULIB_DIR = PROJECT_ROOT.parent / "shared" / "pabulib"
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes seconds (the largest real election)")


def require_pabulib_dir() -> Path:
    """The shared folder, or skip (fail under CI=true) when this checkout has none."""
    if not (PABULIB_DIR / "reference.json").is_file():
        message = f"no real Pabulib elections at {PABULIB_DIR} (shared/pabulib beside the repo)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return PABULIB_DIR
