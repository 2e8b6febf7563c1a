"""Every sample workflow runs end to end through `wdl2sfn run` and gives miniwdl's outputs."""

from __future__ import annotations

import json
from pathlib import Path

from ..conftest import SAMPLES
from .helpers import all_histories, batch_jobs_of, call_executions, entered, history, wdl2sfn


def run_sample(name: str, tmp_path: Path, *extra: str):
    return wdl2sfn(
        "run",
        f"{name}.wdl",
        "-i",
        "inputs.json",
        "--dir",
        str(tmp_path),
        *extra,
        cwd=SAMPLES / name,
    )


def test_hello_prints_dir_and_namespaced_outputs(tmp_path):
    out = run_sample("hello", tmp_path)
    assert out.code == 0, out.stderr
    assert out.json["outputs"] == {"hello.message": "Hello, wdl2sfn!"}
    assert out.run_dir.parent == tmp_path


def test_scatter_gather_gathers_in_shard_order(tmp_path):
    out = run_sample("scatter_gather", tmp_path)
    assert out.code == 0, out.stderr
    squares = [(n + 10) ** 2 for n in range(1, 9)]
    assert out.json["outputs"] == {
        "scatter_gather.squares": squares,
        "scatter_gather.total": sum(squares),
    }


def test_untaken_if_yields_none_and_optional_patterns_work(tmp_path):
    out = run_sample("conditional", tmp_path)
    assert out.code == 0, out.stderr
    assert out.json["outputs"] == {
        "conditional.upper_text": "HELLO CONDITIONAL WORLD",
        "conditional.word_count": None,
        "conditional.result": "HELLO CONDITIONAL WORLD",
        "conditional.odd": ["SHARD 1", "SHARD 3"],
        "conditional.counted": False,
    }


def test_subworkflow_inline_and_machine_modes_agree(tmp_path):
    inline = run_sample("subworkflow", tmp_path / "a")
    machine = run_sample("subworkflow", tmp_path / "b", "--subworkflows", "machine")
    assert inline.code == 0 and machine.code == 0, inline.stderr + machine.stderr
    expected = {
        "subworkflow.summaries": ["a has 10 reads", "b has 20 reads"],
        "subworkflow.scaled": {"a": 20, "b": 40},
    }
    assert inline.json["outputs"] == expected
    assert machine.json["outputs"] == expected


def test_file_inputs_and_glob_outputs(tmp_path):
    out = run_sample("files", tmp_path)
    assert out.code == 0, out.stderr
    outputs = out.json["outputs"]
    chunks = outputs["files.chunks"]
    assert [Path(c).name for c in chunks] == ["chunk_00", "chunk_01", "chunk_02"]
    text = "".join(Path(c).read_text() for c in chunks)
    assert text == (SAMPLES / "files" / "lines.txt").read_text()
    assert outputs["files.chars"] == [len(Path(c).read_text()) for c in chunks]
    assert all(c.startswith(str(out.run_dir)) for c in chunks)


def _task_jobs(run_dir: Path) -> list[dict]:
    """Parameters of the Batch jobs of every call machine execution (`call X: run`; EFS mode
    has no runner jobs), in the order the executions were found."""
    return [
        job
        for executions in call_executions(run_dir).values()
        for events in executions
        for job in batch_jobs_of(events)
    ]


def test_gpu_task_is_routed_to_the_gpu_queue(tmp_path):
    out = run_sample("gpu", tmp_path)
    assert out.code == 0, out.stderr
    queues = [job["JobQueue"] for job in _task_jobs(out.run_dir)]
    assert queues and queues[0].endswith("job-queue/wdl2sfn-gpu")


def test_cpu_task_is_routed_to_the_on_demand_queue(tmp_path):
    out = run_sample("hello", tmp_path)
    assert out.code == 0, out.stderr
    (job,) = _task_jobs(out.run_dir)
    assert job["JobQueue"].endswith("job-queue/wdl2sfn-cpu")
    assert {"Type": "VCPU", "Value": "1"} in job["ContainerOverrides"]["ResourceRequirements"]


def test_second_run_reuses_every_call_from_the_cache(tmp_path):
    """Every call machine execution of the second run takes `cached?` to `done`: no job."""
    first = run_sample("scatter_gather", tmp_path)
    second = run_sample("scatter_gather", tmp_path)
    assert second.code == 0
    assert second.json["outputs"] == first.json["outputs"]
    calls = call_executions(second.run_dir)
    assert calls.keys() == call_executions(first.run_dir).keys() and calls
    for label, executions in calls.items():
        for events in executions:
            assert entered(events, label) == [label, f"{label}: cached?", "done"]
    assert [job for h in all_histories(second.run_dir) for job in batch_jobs_of(_events(h))] == []


def test_no_cache_runs_every_job_again(tmp_path):
    run_sample("hello", tmp_path)
    again = run_sample("hello", tmp_path, "--no-cache")
    assert len(_task_jobs(again.run_dir)) == 1


def test_history_events_have_the_aws_shape(tmp_path):
    out = run_sample("hello", tmp_path)
    events = history(out.run_dir)
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionSucceeded"
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert all({"type", "id", "previousEventId", "timestamp"} <= set(e) for e in events)


def test_payloads_stay_small_whatever_the_values(tmp_path):
    out = run_sample("scatter_gather", tmp_path)
    for path in all_histories(out.run_dir):
        for e in _events(path):
            for key in ("stateEnteredEventDetails", "stateExitedEventDetails"):
                details = e.get(key) or {}
                for field in ("input", "output"):
                    assert len(details.get(field) or "") < 4096


def _events(path: Path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_fsx_mode_runs_every_step_as_a_runner_job_and_agrees(tmp_path):
    efs = run_sample("scatter_gather", tmp_path / "efs")
    fsx = run_sample("scatter_gather", tmp_path / "fsx", "--filesystem", "fsx")
    assert fsx.code == 0, fsx.stderr
    assert fsx.json["outputs"] == efs.json["outputs"]
    resources = {
        e["taskScheduledEventDetails"]["resource"]
        for e in history(fsx.run_dir)
        if e["type"] == "TaskScheduled"
    }
    assert "invoke" not in resources  # no Lambda: FSx cannot be mounted by Lambda


def test_non_series_parallel_dag_runs_with_its_added_wait(tmp_path):
    out = wdl2sfn(
        "run", str(SAMPLES.parent / "tests" / "fixtures" / "n_shape.wdl"), "--dir", str(tmp_path)
    )
    assert out.code == 0, out.stderr
    assert out.json["outputs"] == {"n_shape.c_y": 6, "n_shape.d_y": 4}


def test_nested_scatters_with_a_conditional_gather_into_nested_arrays(tmp_path):
    out = wdl2sfn(
        "run", str(SAMPLES.parent / "tests" / "fixtures" / "nested.wdl"), "--dir", str(tmp_path)
    )
    assert out.code == 0, out.stderr
    assert out.json["outputs"] == {"nested.out": [[0], [1, 2], [2, 3, 4]], "nested.total": 6}


def test_verbose_streams_task_stderr_to_stderr(tmp_path):
    wdl = tmp_path / "verbose.wdl"
    wdl.write_text(
        'version 1.1\nworkflow v { call t }\ntask t { command <<< echo "from the task" >&2 >>> }\n'
    )
    out = wdl2sfn("run", str(wdl), "--dir", str(tmp_path / "runs"), "--verbose")
    assert out.code == 0, out.stderr
    assert "[v-t] from the task" in out.stderr
