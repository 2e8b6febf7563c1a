"""Exact joins: on a DAG that is not series-parallel no call waits for one it does not need.

The N shape (a->c, b->c, b->d) nested into Seq/Par makes d wait for a (or c for nothing); with
lanes and exact joins, d starts when b is done, c when a and b are. The runs below make `a` slow
and check the times the tasks themselves recorded.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from wdl2sfn.compiler import compile_workflow

from ..integration.helpers import wdl2sfn
from .test_compile import all_states, statelint_errors

TIMED = """\
version 1.1
workflow timed {
  input { Int slow = 4  Boolean fail_b = false }
  call t as a { input: x = 1, pause = slow }
  call t as b { input: x = 2, pause = 0, fail = fail_b }
  call t as c { input: x = a.y + b.y }
  call t as d { input: x = b.y }
  output {
    Int c_y = c.y
    Int d_y = d.y
    Float a_done = a.done
    Float c_start = c.start
    Float d_done = d.done
  }
}
task t {
  input { Int x  Int pause = 0  Boolean fail = false }
  command <<<
    date +%s.%N > start.txt
    sleep ~{pause}
    if ~{fail}; then echo "b broke" >&2; exit 3; fi
    echo $(( ~{x} + 1 ))
    date +%s.%N > done.txt
  >>>
  output {
    Int y = read_int(stdout())
    Float start = read_float("start.txt")
    Float done = read_float("done.txt")
  }
}
"""

SCATTERED = """\
version 1.1
workflow scattered {
  scatter (i in range(3)) {
    call t as a { input: x = i }
    call t as b { input: x = 10 * i }
    call t as c { input: x = a.y + b.y }
    call t as d { input: x = b.y }
  }
  output { Array[Int] c_y = c.y  Array[Int] d_y = d.y }
}
task t {
  input { Int x }
  command <<< echo $(( ~{x} + 1 )) >>>
  output { Int y = read_int(stdout()) }
}
"""


# the N shape with a scatter as b: a unit that is not a call releases by a step of its own
FANNED = """\
version 1.1
workflow fanned {
  call t as a { input: x = 1 }
  scatter (i in range(2)) { call t as b { input: x = i } }
  call t as c { input: x = a.y + b.y[0] }
  call t as d { input: x = b.y[1] }
  output { Int c_y = c.y  Int d_y = d.y }
}
""" + TIMED[TIMED.index("task t") :]


def _write(tmp_path: Path, text: str, name: str) -> str:
    path = tmp_path / f"{name}.wdl"
    path.write_text(text)
    return str(path)


def test_the_join_is_a_wait_for_task_token_step_and_statelint_accepts_it(tmp_path: Path):
    definition = compile_workflow(_write(tmp_path, TIMED, "timed")).definition
    states = dict(all_states(definition["States"]))
    wait = states["call c: wait"]
    assert wait["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert wait["Parameters"]["Payload"]["token.$"] == "$$.Task.Token"
    assert statelint_errors(definition, tmp_path) == []


def test_a_call_releases_its_waiters_itself_with_no_release_state(tmp_path: Path):
    definition = compile_workflow(_write(tmp_path, TIMED, "timed")).definition
    states = dict(all_states(definition["States"]))
    assert not [name for name in states if name.endswith(": release")]
    # b's call machine input: its prepare (on a cache hit) or collect releases them
    assert states["call b"]["Parameters"]["Input"]["waiters"] == ["call-c"]


def test_a_scatter_that_others_wait_for_keeps_its_release_step(tmp_path: Path):
    definition = compile_workflow(_write(tmp_path, FANNED, "fanned")).definition
    states = dict(all_states(definition["States"]))
    release = states["scatter i in range(2): release"]["Parameters"]["Payload"]
    assert (release["join"], release["waiters"]) == ("release", ["call-c"])


def test_a_cache_hit_releases_the_calls_waiting_for_it(tmp_path: Path):
    wdl, runs = _write(tmp_path, TIMED, "timed"), str(tmp_path / "runs")
    assert wdl2sfn("run", wdl, "slow=0", "--dir", runs).code == 0
    again = wdl2sfn("run", wdl, "slow=0", "--dir", runs, timeout=120)  # c would wait forever
    assert again.code == 0, again.stderr
    assert (again.json["outputs"]["timed.c_y"], again.json["outputs"]["timed.d_y"]) == (6, 4)
    history = call_history(again.run_dir, "call b")
    assert '"call: cached?"' in history and '"call: run"' not in history  # b was a hit


def call_history(run_dir: Path, label: str) -> str:
    """The history of the call machine execution that ran call `label`."""
    for path in run_dir.rglob("executions/*/history.jsonl"):
        text = path.read_text()
        started = json.loads(
            json.loads(text.splitlines()[0])["executionStartedEventDetails"]["input"]
        )
        if started.get("call") == label:
            return text
    raise AssertionError(f"no call machine execution ran {label}")


def test_no_call_waits_for_a_call_it_does_not_need(tmp_path: Path):
    out = wdl2sfn("run", _write(tmp_path, TIMED, "timed"), "--dir", str(tmp_path / "runs"))
    assert out.code == 0, out.stderr
    o = out.json["outputs"]
    assert (o["timed.c_y"], o["timed.d_y"]) == (6, 4)
    assert o["timed.d_done"] < o["timed.a_done"]  # d needs only b: it did not wait for slow a
    assert o["timed.c_start"] >= o["timed.a_done"]  # c needs a: it did wait


def test_joins_inside_a_scatter_are_per_shard(tmp_path: Path):
    out = wdl2sfn("run", _write(tmp_path, SCATTERED, "scattered"), "--dir", str(tmp_path / "r"))
    assert out.code == 0, out.stderr
    assert out.json["outputs"] == {
        "scattered.c_y": [3, 14, 25],
        "scattered.d_y": [2, 12, 22],
    }


def test_lanes_split_into_child_machines_still_join(tmp_path: Path):
    wdl = _write(tmp_path, TIMED, "timed")
    out = wdl2sfn(
        "run", wdl, "slow=0", "--dir", str(tmp_path / "r"), "--max-definition-bytes", "3000"
    )
    assert out.code == 0, out.stderr
    assert (out.json["outputs"]["timed.c_y"], out.json["outputs"]["timed.d_y"]) == (6, 4)
    machines = {machine_of(p) for p in out.run_dir.rglob("executions/*/history.jsonl")}
    assert any(":stateMachine:timed" in m for m in machines), machines  # parts ran as children


def machine_of(history: Path) -> str:
    first = json.loads(history.read_text().splitlines()[0])
    return str(first["executionStartedEventDetails"]["stateMachineArn"])


def test_a_failed_dependency_ends_the_run_instead_of_leaving_its_waiter_waiting(tmp_path: Path):
    started = time.monotonic()
    wdl = _write(tmp_path, TIMED, "timed")
    out = wdl2sfn("run", wdl, "fail_b=true", "slow=30", "--dir", str(tmp_path / "r"))
    assert out.code != 0
    assert time.monotonic() - started < 25  # a (30 s) was stopped, c's wait aborted
    error = json.loads(out.stdout)
    assert error["wdl2sfn_error"] == "WdlTaskFailed" and "b broke" in out.last_line


def test_joins_in_a_subworkflow_compiled_as_its_own_machine(tmp_path: Path):
    (tmp_path / "sub.wdl").write_text(SCATTERED.replace("workflow scattered", "workflow inner"))
    main = tmp_path / "main.wdl"
    main.write_text(
        'version 1.1\nimport "sub.wdl"\nworkflow outer {\n  call sub.inner\n'
        "  output { Array[Int] d_y = inner.d_y }\n}\n"
    )
    out = wdl2sfn("run", str(main), "--subworkflows", "machine", "--dir", str(tmp_path / "r"))
    assert out.code == 0, out.stderr
    assert out.json["outputs"] == {"outer.d_y": [2, 12, 22]}
