"""prepare_task -> run the job's wrapper -> collect_task, on small real WDL tasks."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import WDL

from wdl2sfn.task_runner.errors import WdlEvalError, WdlInputError
from wdl2sfn.task_runner.task import (
    Prepared,
    TaskContext,
    collect_task,
    prepare_task,
    read_outputs,
)

QUEUES = {
    "cpu": "arn:aws:batch:local:000000000000:job-queue/wdl2sfn-cpu",
    "spot": "arn:aws:batch:local:000000000000:job-queue/wdl2sfn-spot",
    "gpu": "arn:aws:batch:local:000000000000:job-queue/wdl2sfn-gpu",
}


class FakeJobDefinitions:
    """The two Batch calls prepare_task makes, recorded."""

    def __init__(self) -> None:
        self.defs: dict[str, dict[str, Any]] = {}
        self.describes = 0

    def describe_job_definitions(self, **kw: Any) -> dict[str, Any]:
        self.describes += 1
        d = self.defs.get(kw["jobDefinitionName"])
        return {"jobDefinitions": [dict(d, status="ACTIVE")] if d else []}

    def register_job_definition(self, **kw: Any) -> dict[str, Any]:
        self.defs[kw["jobDefinitionName"]] = kw
        return {"jobDefinitionName": kw["jobDefinitionName"], "revision": 1}


def load_task(tmp_path: Path, src: str, version: str = "1.1") -> WDL.Tree.Task:
    wdl = tmp_path / "src" / "t.wdl"
    wdl.parent.mkdir(parents=True, exist_ok=True)
    wdl.write_text(f"version {version}\n{src}")
    doc = WDL.load(str(wdl))
    return doc.tasks[0]


def make_ctx(tmp_path: Path, name: str = "t", cache: bool = False, **kw: Any) -> TaskContext:
    store = tmp_path / "store"
    return TaskContext(
        call_dir=store / "run" / "calls" / f"call-{name}",
        call_name=name,
        job_name=f"test-call-{name}",
        queues=QUEUES,
        job_definitions=kw.pop("job_definitions", FakeJobDefinitions()),
        store_root=store,
        cache_root=(store / "_CACHE" / "call") if cache else None,
        **kw,
    )


def bindings(task: WDL.Tree.Task, inputs: dict[str, Any]) -> WDL.Env.Bindings[WDL.Value.Base]:
    return WDL.values_from_json(inputs, task.available_inputs)


def run_job(job: dict[str, Any]) -> int:
    env = dict(os.environ)
    env.update({e["Name"]: e["Value"] for e in job["overrides"]["Environment"]})
    return subprocess.run(
        job["overrides"]["Command"], env=env, capture_output=True, timeout=60
    ).returncode


def run_call(
    task: WDL.Tree.Task, inputs: dict[str, Any], ctx: TaskContext
) -> tuple[dict[str, Any], Prepared]:
    prepared = prepare_task(task, bindings(task, inputs), ctx)
    if not prepared.cached:
        assert prepared.job is not None
        run_job(prepared.job)
        collect_task(task, ctx)
    return json.loads((ctx.call_dir / "outputs.json").read_text()), prepared


# ---------------------------------------------------------------- command and inputs


def test_command_interpolation_with_placeholder_options_and_dedent(tmp_path: Path) -> None:
    task = load_task(
        tmp_path,
        """
task t {
  input {
    Array[String] xs
    Boolean flag = true
    Int? missing
  }
  command <<<
    echo ~{sep(",", xs)} ~{if flag then "--yes" else "--no"} ~{default="none" missing}
      echo indented
  >>>
  output { Array[String] out = read_lines(stdout()) }
}
""",
    )
    ctx = make_ctx(tmp_path)
    out, _ = run_call(task, {"xs": ["a", "b", "c"]}, ctx)
    assert (ctx.call_dir / "command").read_text() == "\necho a,b,c --yes none\n  echo indented\n"
    assert out == {"out": ["a,b,c --yes none", "indented"]}


def test_draft_style_dollar_placeholders_in_brace_command(tmp_path: Path) -> None:
    task = load_task(
        tmp_path,
        """
task t {
  input { String who }
  command { echo "hi ${who}" "~{who}" }
  output { String out = read_string(stdout()) }
}
""",
    )
    out, _ = run_call(task, {"who": "bob"}, make_ctx(tmp_path))
    assert out == {"out": "hi bob bob"}


def test_input_default_and_post_input_declaration_are_evaluated(tmp_path: Path) -> None:
    task = load_task(
        tmp_path,
        """
task t {
  input {
    String who
    Int n = 2 + 1
  }
  String greeting = "hello ~{who} x~{n * 2}"
  command <<< echo "~{greeting}" >>>
  output { String out = read_string(stdout()) }
}
""",
    )
    out, _ = run_call(task, {"who": "ann"}, make_ctx(tmp_path))
    assert out == {"out": "hello ann x6"}


def test_none_for_non_optional_input_with_default_uses_the_default(tmp_path: Path) -> None:
    task = load_task(
        tmp_path,
        """
task t {
  input { Int n = 7 }
  command <<< echo ~{n} >>>
  output { Int out = read_int(stdout()) }
}
""",
    )
    out, _ = run_call(task, {"n": None}, make_ctx(tmp_path))
    assert out == {"out": 7}


def test_none_for_optional_input_with_default_overrides_the_default(tmp_path: Path) -> None:
    task = load_task(
        tmp_path,
        """
task t {
  input { Int? n = 7 }
  command <<< echo ~{default="unset" n} >>>
  output { String out = read_string(stdout()) }
}
""",
    )
    out, _ = run_call(task, {"n": None}, make_ctx(tmp_path))
    assert out == {"out": "unset"}


def test_absent_optional_input_is_none(tmp_path: Path) -> None:
    task = load_task(
        tmp_path,
        """
task t {
  input { String? x }
  command <<< echo ~{select_first([x, "fallback"])} >>>
  output {
    String out = read_string(stdout())
    Boolean has = defined(x)
    String? echo_x = x
  }
}
""",
    )
    out, _ = run_call(task, {}, make_ctx(tmp_path))
    assert out == {"out": "fallback", "has": False, "echo_x": None}


def test_missing_required_input_is_an_input_error(tmp_path: Path) -> None:
    task = load_task(
        tmp_path,
        "task t { input { String who } command <<< echo ~{who} >>> }",
    )
    ctx = make_ctx(tmp_path)
    with pytest.raises(WdlInputError, match="missing required input who"):
        prepare_task(task, WDL.Env.Bindings(), ctx)
    assert json.loads((ctx.call_dir / "error.json").read_text())["error"] == "WdlInputError"


def test_unknown_input_is_an_input_error(tmp_path: Path) -> None:
    task = load_task(tmp_path, "task t { command <<< true >>> }")
    inputs: WDL.Env.Bindings[WDL.Value.Base] = WDL.Env.Bindings()
    inputs = inputs.bind("nope", WDL.Value.Int(1))
    with pytest.raises(WdlInputError, match="unknown input nope"):
        prepare_task(task, inputs, make_ctx(tmp_path))


def test_declaration_evaluation_error_names_the_declaration(tmp_path: Path) -> None:
    task = load_task(
        tmp_path,
        """
task t {
  input { Array[Int] xs = [] }
  Int first = xs[0]
  command <<< echo ~{first} >>>
}
""",
    )
    with pytest.raises(WdlEvalError, match="declaration first"):
        prepare_task(task, WDL.Env.Bindings(), make_ctx(tmp_path))


# ---------------------------------------------------------------- files


def test_file_input_is_a_hard_link_of_the_runs_copy_in_the_call_inputs_dir(tmp_path: Path) -> None:
    src = tmp_path / "data" / "reads.txt"
    src.parent.mkdir()
    src.write_text("x\ny\n")
    task = load_task(
        tmp_path,
        """
task t {
  input { File f }
  command <<< echo ~{f}; wc -l < ~{f} >&2 >>>
  output {
    Array[String] lines = read_lines(f)
    String path = read_lines(stdout())[0]
  }
}
""",
    )
    ctx = make_ctx(tmp_path)
    out, _ = run_call(task, {"f": str(src)}, ctx)
    localized = ctx.call_dir / "inputs" / "0" / "reads.txt"
    assert out["path"] == str(localized)
    assert out["lines"] == ["x", "y"]
    assert os.stat(localized).st_nlink == 2  # the run's read-only copy, never your inode
    assert os.stat(localized).st_ino != os.stat(src).st_ino and os.stat(src).st_nlink == 1
    # inputs.json keeps the inputs as given; task_env.json the localized paths
    assert json.loads((ctx.call_dir / "inputs.json").read_text()) == {"f": str(src)}
    assert json.loads((ctx.call_dir / "task_env.json").read_text()) == {"f": str(localized)}


def test_file_inputs_with_the_same_basename_get_separate_dirs(tmp_path: Path) -> None:
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "x.txt").write_text(d)
    task = load_task(
        tmp_path,
        """
task t {
  input { Array[File] fs }
  command <<< cat ~{sep(" ", fs)} >>>
  output { String out = read_string(stdout()) }
}
""",
    )
    ctx = make_ctx(tmp_path)
    out, _ = run_call(task, {"fs": [str(tmp_path / "a/x.txt"), str(tmp_path / "b/x.txt")]}, ctx)
    assert out == {"out": "ab"}
    assert (ctx.call_dir / "inputs/0/x.txt").read_text() == "a"
    assert (ctx.call_dir / "inputs/1/x.txt").read_text() == "b"


def test_missing_local_input_file_is_an_input_error(tmp_path: Path) -> None:
    task = load_task(tmp_path, "task t { input { File f } command <<< cat ~{f} >>> }")
    with pytest.raises(WdlInputError, match="not found"):
        prepare_task(task, bindings(task, {"f": str(tmp_path / "nope")}), make_ctx(tmp_path))


def test_output_may_be_an_input_file(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("hi")
    task = load_task(
        tmp_path, "task t { input { File f } command <<< true >>> output { File same = f } }"
    )
    ctx = make_ctx(tmp_path)
    out, _ = run_call(task, {"f": str(src)}, ctx)
    assert out == {"same": str(ctx.call_dir / "inputs/0/in.txt")}


def test_glob_outputs_are_sorted_files_under_work(tmp_path: Path) -> None:
    task = load_task(
        tmp_path,
        """
task t {
  command <<<
    mkdir sub
    for n in c a b; do echo $n > sub/$n.txt; done
    mkdir sub/d.txt
  >>>
  output {
    Array[File] txt = glob("sub/*.txt")
    Array[File] none = glob("*.csv")
  }
}
""",
    )
    ctx = make_ctx(tmp_path)
    out, _ = run_call(task, {}, ctx)
    work = ctx.call_dir / "work"
    assert out == {"txt": [str(work / f"sub/{n}.txt") for n in "abc"], "none": []}


def test_stdout_and_stderr_outputs_are_the_call_streams(tmp_path: Path) -> None:
    task = load_task(
        tmp_path,
        """
task t {
  command <<< echo out; echo err >&2 >>>
  output {
    File o = stdout()
    File e = stderr()
    String es = read_string(stderr())
  }
}
""",
    )
    ctx = make_ctx(tmp_path)
    out, _ = run_call(task, {}, ctx)
    assert out == {
        "o": str(ctx.call_dir / "stdout.txt"),
        "e": str(ctx.call_dir / "stderr.txt"),
        "es": "err",
    }
    assert (ctx.call_dir / "stdout.txt").read_text() == "out\n"


def test_relative_file_output_resolves_in_work_and_later_outputs_read_it(tmp_path: Path) -> None:
    task = load_task(
        tmp_path,
        """
task t {
  command <<< echo 42 > n.txt >>>
  output {
    File f = "n.txt"
    Int n = read_int(f)
    String name = basename(f)
  }
}
""",
    )
    ctx = make_ctx(tmp_path)
    out, _ = run_call(task, {}, ctx)
    assert out == {"f": str(ctx.call_dir / "work/n.txt"), "n": 42, "name": "n.txt"}


def test_write_lines_in_declaration_and_read_lines_output(tmp_path: Path) -> None:
    task = load_task(
        tmp_path,
        """
task t {
  input { Array[String] xs }
  File listing = write_lines(xs)
  command <<< sort -r ~{listing} >>>
  output { Array[String] sorted = read_lines(stdout()) }
}
""",
    )
    ctx = make_ctx(tmp_path)
    out, _ = run_call(task, {"xs": ["a", "c", "b"]}, ctx)
    assert out == {"sorted": ["c", "b", "a"]}
    written = json.loads((ctx.call_dir / "task_env.json").read_text())["listing"]
    assert Path(written).parent == ctx.call_dir / "write_"
    assert Path(written).read_text() == "a\nc\nb\n"


def test_missing_optional_file_output_is_none(tmp_path: Path) -> None:
    task = load_task(
        tmp_path,
        """
task t {
  command <<< touch here >>>
  output {
    File? absent = "not-here"
    File present = "here"
    Array[File?] some = ["here", "gone"]
  }
}
""",
    )
    ctx = make_ctx(tmp_path)
    out, _ = run_call(task, {}, ctx)
    here = str(ctx.call_dir / "work/here")
    assert out == {"absent": None, "present": here, "some": [here, None]}


# ---------------------------------------------------------------- compound values


def test_struct_map_and_pair_outputs(tmp_path: Path) -> None:
    task = load_task(
        tmp_path,
        """
struct Sample {
  String name
  Int reads
  Array[File] files
}
task t {
  command <<<
    echo '{"name": "s1", "reads": 12}' > s.json
    touch r1.fq
  >>>
  output {
    Sample s = object {
      name: read_json("s.json")["name"],
      reads: read_json("s.json")["reads"],
      files: ["r1.fq"]
    }
    Map[String, Int] m = {"a": 1, "b": 2}
    Pair[Int, File] p = (3, "r1.fq")
    Array[Pair[String, Int]] ps = as_pairs(m)
  }
}
""",
    )
    ctx = make_ctx(tmp_path)
    out, _ = run_call(task, {}, ctx)
    fq = str(ctx.call_dir / "work/r1.fq")
    assert out == {
        "s": {"name": "s1", "reads": 12, "files": [fq]},
        "m": {"a": 1, "b": 2},
        "p": {"left": 3, "right": fq},
        "ps": [{"left": "a", "right": 1}, {"left": "b", "right": 2}],
    }
    # read_outputs reloads them with their WDL types
    reloaded = read_outputs(task, ctx.call_dir)
    assert isinstance(reloaded["s"], WDL.Value.Struct)
    assert isinstance(reloaded["p"].value[1], WDL.Value.File)
    assert WDL.values_to_json(reloaded) == out


def test_struct_input_with_file_member_is_localized(tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("A")
    task = load_task(
        tmp_path,
        """
struct Item { String id  File f }
task t {
  input { Item item }
  command <<< cat ~{item.f} >>>
  output { String out = read_string(stdout()) }
}
""",
    )
    ctx = make_ctx(tmp_path)
    out, _ = run_call(task, {"item": {"id": "x", "f": str(src)}}, ctx)
    assert out == {"out": "A"}
    env = json.loads((ctx.call_dir / "task_env.json").read_text())
    assert env["item"]["f"] == str(ctx.call_dir / "inputs/0/a.txt")


# ---------------------------------------------------------------- runtime, job, WDL 1.2


def test_runtime_attributes_become_job_resources_and_runtime_json(tmp_path: Path) -> None:
    task = load_task(
        tmp_path,
        """
task t {
  input { Int threads = 3 }
  command <<< true >>>
  runtime {
    docker: "quay.io/x/y:1"
    cpu: threads
    memory: "~{threads} GiB"
    maxRetries: 2
    timeout: "2h"
  }
}
""",
    )
    jd = FakeJobDefinitions()
    ctx = make_ctx(tmp_path, job_definitions=jd)
    job = prepare_task(task, WDL.Env.Bindings(), ctx).job
    assert job is not None
    assert job["name"] == "test-call-t"
    assert job["queue"] == QUEUES["cpu"]
    assert job["overrides"]["ResourceRequirements"] == [
        {"Type": "VCPU", "Value": "3"},
        {"Type": "MEMORY", "Value": "3072"},
    ]
    assert jd.defs[job["definition"]]["retryStrategy"]["attempts"] == 3
    assert jd.defs[job["definition"]]["timeout"] == {"attemptDurationSeconds": 7200}
    assert job["overrides"]["Command"][:2] == ["bash", "-c"]
    assert jd.defs[job["definition"]]["containerProperties"]["image"] == "quay.io/x/y:1"
    runtime = json.loads((ctx.call_dir / "runtime.json").read_text())
    assert runtime["docker"] == "quay.io/x/y:1"
    assert runtime["cpu"] == 3 and runtime["memory_mib"] == 3072 and runtime["maxRetries"] == 2
    assert json.loads((ctx.call_dir / "job.json").read_text()) == job


def test_default_image_when_runtime_names_none(tmp_path: Path) -> None:
    task = load_task(tmp_path, "task t { command <<< true >>> }")
    jd = FakeJobDefinitions()
    job = prepare_task(task, WDL.Env.Bindings(), make_ctx(tmp_path, job_definitions=jd)).job
    assert job is not None
    assert jd.defs[job["definition"]]["containerProperties"]["image"] == "ubuntu:22.04"
    assert job["overrides"]["ResourceRequirements"] == [
        {"Type": "VCPU", "Value": "1"},
        {"Type": "MEMORY", "Value": "2048"},
    ]


def test_container_attribute_wins_over_docker(tmp_path: Path) -> None:
    task = load_task(
        tmp_path,
        'task t { command <<< true >>> runtime { docker: "a:1" container: ["b:2", "c:3"] } }',
    )
    jd = FakeJobDefinitions()
    job = prepare_task(task, WDL.Env.Bindings(), make_ctx(tmp_path, job_definitions=jd)).job
    assert job is not None
    assert jd.defs[job["definition"]]["containerProperties"]["image"] == "b:2"


def test_job_definition_registered_once_per_image_and_reused(tmp_path: Path) -> None:
    task = load_task(tmp_path, 'task t { command <<< true >>> runtime { docker: "img:1" } }')
    jd = FakeJobDefinitions()
    names = set()
    for i in range(3):
        ctx = make_ctx(tmp_path, name=f"c{i}", job_definitions=jd)
        job = prepare_task(task, WDL.Env.Bindings(), ctx).job
        assert job is not None
        names.add(job["definition"])
    assert len(names) == 1 and len(jd.defs) == 1
    assert jd.describes == 1  # in-process memo
    # another process (new client) finds it ACTIVE and does not register again
    jd2 = FakeJobDefinitions()
    jd2.defs = dict(jd.defs)
    registered_before = dict(jd2.defs)
    prepare_task(task, WDL.Env.Bindings(), make_ctx(tmp_path, name="d", job_definitions=jd2))
    assert jd2.defs == registered_before and jd2.describes == 1


def test_mount_goes_into_the_job_definition(tmp_path: Path) -> None:
    task = load_task(tmp_path, "task t { command <<< true >>> }")
    mount = {
        "volumes": [{"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}],
        "mountPoints": [{"sourceVolume": "efs", "containerPath": "/mnt/efs"}],
    }
    jd = FakeJobDefinitions()
    ctx = make_ctx(tmp_path, job_definitions=jd, mount=mount)
    job = prepare_task(task, WDL.Env.Bindings(), ctx).job
    assert job is not None
    props = jd.defs[job["definition"]]["containerProperties"]
    assert props["volumes"] == mount["volumes"] and props["mountPoints"] == mount["mountPoints"]
    assert {"Name": "TMPDIR", "Value": "/tmp"} in job["overrides"]["Environment"]


def test_runtime_call_input_overrides_runtime_section(tmp_path: Path) -> None:
    task = load_task(tmp_path, "task t { command <<< true >>> runtime { cpu: 1 } }")
    inputs = bindings(task, {"runtime.cpu": 4, "runtime.preemptible": 2})
    jd = FakeJobDefinitions()
    job = prepare_task(task, inputs, make_ctx(tmp_path, job_definitions=jd)).job
    assert job is not None
    assert job["overrides"]["ResourceRequirements"][0] == {"Type": "VCPU", "Value": "4"}
    assert job["queue"] == QUEUES["spot"]
    assert jd.defs[job["definition"]]["retryStrategy"]["attempts"] == 2


def test_gpu_task_goes_to_gpu_queue_with_gpu_resource(tmp_path: Path) -> None:
    task = load_task(
        tmp_path,
        'task t { command <<< true >>> runtime { acceleratorType: "nvidia-tesla-t4" '
        "acceleratorCount: 2 } }",
    )
    job = prepare_task(task, WDL.Env.Bindings(), make_ctx(tmp_path)).job
    assert job is not None
    assert job["queue"] == QUEUES["gpu"]
    assert {"Type": "GPU", "Value": "2"} in job["overrides"]["ResourceRequirements"]


def test_runtime_queue_override(tmp_path: Path) -> None:
    task = load_task(
        tmp_path, 'task t { command <<< true >>> runtime { queue: "spot" preemptible: 0 } }'
    )
    job = prepare_task(task, WDL.Env.Bindings(), make_ctx(tmp_path)).job
    assert job is not None and job["queue"] == QUEUES["spot"]


def test_job_tmpdir_on_shared_scratch_is_per_job_outside_the_store_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WDL2SFN_SHARED_SCRATCH", "1")
    task = load_task(
        tmp_path,
        """
task t {
  command <<< echo "$TMPDIR"; test -d "$TMPDIR" && touch "$TMPDIR/x" && echo ok >>>
  output { Array[String] out = read_lines(stdout()) }
}
""",
    )
    ctx = make_ctx(tmp_path)
    out, _ = run_call(task, {}, ctx)
    tmpdir, ok = out["out"]
    assert ok == "ok"
    assert "wdl2sfn.test-call-t." in tmpdir
    assert not tmpdir.startswith(str(ctx.store_root))
    assert not os.path.exists(tmpdir)


def test_wdl12_task_struct_is_visible_to_command_and_outputs(tmp_path: Path) -> None:
    task = load_task(
        tmp_path,
        """
task t {
  command <<< echo ~{task.name} ~{task.cpu} ~{task.attempt} >>>
  requirements { cpu: 2 }
  output {
    String out = read_string(stdout())
    Int rc = task.return_code
  }
}
""",
        version="1.2",
    )
    out, _ = run_call(task, {}, make_ctx(tmp_path))
    assert out == {"out": "t 2.000000 0", "rc": 0}  # Float interpolates as %f


# ---------------------------------------------------------------- idempotency


def test_prepare_and_collect_twice_give_identical_files(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("1\n2\n")
    task = load_task(
        tmp_path,
        """
task t {
  input { File f }
  File copy = write_lines(read_lines(f))
  command <<< cat ~{copy} >>>
  output { Array[String] out = read_lines(stdout()) }
}
""",
    )
    ctx = make_ctx(tmp_path)
    names = ("command", "inputs.json", "task_env.json", "runtime.json", "job.json")
    first = prepare_task(task, bindings(task, {"f": str(src)}), ctx)
    snap = {n: (ctx.call_dir / n).read_bytes() for n in names}
    assert first.job is not None
    run_job(first.job)
    collect_task(task, ctx)
    outputs1 = (ctx.call_dir / "outputs.json").read_bytes()

    second = prepare_task(task, bindings(task, {"f": str(src)}), ctx)
    assert second == first
    assert {n: (ctx.call_dir / n).read_bytes() for n in names} == snap
    assert len(os.listdir(ctx.call_dir / "write_")) == 1
    assert not (ctx.call_dir / "outputs.json").exists()  # stale results cleared by prepare
    assert second.job is not None
    run_job(second.job)
    collect_task(task, ctx)
    collect_task(task, ctx)
    assert (ctx.call_dir / "outputs.json").read_bytes() == outputs1


def test_directory_output_under_work(tmp_path: Path) -> None:
    task = load_task(
        tmp_path,
        """
task t {
  command <<< mkdir -p outdir/sub && echo x > outdir/sub/f.txt >>>
  output {
    Directory d = "outdir"
    Directory? none = "nothere"
  }
}
""",
        version="1.2",
    )
    ctx = make_ctx(tmp_path)
    out, _ = run_call(task, {}, ctx)
    assert out == {"d": str(ctx.call_dir / "work/outdir"), "none": None}
