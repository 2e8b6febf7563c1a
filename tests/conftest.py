"""Shared fixtures: paths to the sample workflows and the conformance corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_wdl"
SHARED = ROOT.parent / "shared"


def sample(name: str) -> Path:
    return SAMPLES / name / f"{name}.wdl"


@pytest.fixture
def samples_dir() -> Path:
    return SAMPLES
