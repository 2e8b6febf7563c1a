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


JOINED = """version 1.1
workflow joined {
  call t as X { input: i = 5 }
  scatter (i in range(2)) {
    call t as A { input: i = i }
    call t as B { input: i = i + 10 }
  }
  call t as C { input: x = A.y, i = X.y }
  call t as D { input: x = A.y }
  call t as E { input: i = X.y }
  call t as F { input: x = B.y }
  output { Int c = C.y  Int d = D.y  Int e = E.y  Int f = F.y }
}
task t {
  input { Array[Int] x = []  Int i = 0 }
  command <<< echo $(( ~{i} ~{sep(" ", prefix("+ ", x))} )) >>>
  output { Int y = read_int(stdout()) }
}
"""


def test_an_exact_join_on_one_part_of_a_split_scatter_releases_its_waiters(tmp_path):
    """X, A's part and C/D/E make an N shape (no series cut): D waits, in its own lane, for
    the release of A's Map, the part named `<scatter ref>@call-A` in the join markers."""
    wdl = tmp_path / "joined.wdl"
    wdl.write_text(JOINED)
    out = wdl2sfn("run", str(wdl), "-d", str(tmp_path), "--no-cache", timeout=120)
    assert out.code == 0, out.stderr
    a, b = list(range(2)), [i + 10 for i in range(2)]
    assert out.json["outputs"] == {
        "joined.c": 5 + sum(a),
        "joined.d": sum(a),
        "joined.e": 5,
        "joined.f": sum(b),
    }
    done = sorted(p.name for p in (out.run_dir / "_joins" / "done").iterdir())
    assert any(name.endswith("%40call-A") for name in done), done
