"""Issue 25 item 1, end to end: `wdl2sfn run` of a scatter whose body holds two independent
calls. B's shards wait for a file that only C creates, and C reads A alone: the run finishes only
if C starts without waiting for B's shards (miniwdl's call-level schedule); with the scatter run
as one Map, B gives up after ~20 s and the run fails."""

from __future__ import annotations

from ..conftest import ROOT
from ..integration.helpers import wdl2sfn

SPLIT = str(ROOT / "tests" / "fixtures" / "split_scatter.wdl")


def test_a_call_reading_only_a_runs_while_b_s_shards_still_wait(tmp_path):
    gate = tmp_path / "gate"
    out = wdl2sfn("run", SPLIT, f"gate={gate}", "-d", str(tmp_path), "--no-cache", timeout=120)
    assert out.code == 0, out.stderr
    squares = [(i + 3) * (i + 3) for i in range(1)]  # A: x = i + 3, squared; n = 1
    assert out.json["outputs"] == {
        "split.total": sum(squares),
        "split.squares": squares,
        "split.waited": [0],
    }
    # the run folder is miniwdl's (call-X/shard-N), the split into two Maps notwithstanding
    calls = out.run_dir / "calls"
    assert (calls / "A" / "shard-0" / "outputs.json").is_file()
    assert (calls / "B" / "shard-0" / "outputs.json").is_file()
    assert (calls / "C" / "outputs.json").is_file()
