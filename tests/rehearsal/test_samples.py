"""Every sample workflow completes under rehearsal in each stack variant, with the outputs of a
local run (files compared by content: their paths differ by design)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import SAMPLES, VARIANTS, cli, comparable, rehearse

SAMPLE_FILES = {
    "hello": "hello.wdl",
    "scatter_gather": "scatter_gather.wdl",
    "conditional": "conditional.wdl",
    "files": "files.wdl",
    "subworkflow": "subworkflow.wdl",
    "wide_scatter": "wide_scatter.wdl",
    "gpu": "gpu.wdl",
}
_LOCAL: dict[str, Any] = {}


def local_outputs(sample: str, tmp: Path) -> Any:
    """The sample's outputs from a local run (once per session)."""
    if sample not in _LOCAL:
        folder = SAMPLES / sample
        done = cli("run", SAMPLE_FILES[sample], "-i", "inputs.json", "--dir", str(tmp), cwd=folder)
        assert done.returncode == 0, done.stderr[-2000:]
        _LOCAL[sample] = comparable(json.loads(done.stdout)["outputs"])
    return _LOCAL[sample]


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("sample", sorted(SAMPLE_FILES))
def test_sample_completes_under_rehearsal_with_local_outputs(
    sample: str, variant: str, tmp_path: Path
) -> None:
    wdl = SAMPLES / sample / SAMPLE_FILES[sample]
    rehearsed = rehearse(tmp_path, wdl, *VARIANTS[variant])
    assert rehearsed.returncode == 0, rehearsed.stderr[-3000:]
    outputs = comparable(rehearsed.result["outputs"])
    assert outputs == local_outputs(sample, tmp_path / "local")
