"""Issue 13, the init step: run names from an execution input, and the sources it trusts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wdl2sfn.compiler import compile_workflow
from wdl2sfn.task_runner.bundle import fetch_bundle, sources_digest, write_bundle
from wdl2sfn.task_runner.errors import WdlInputError
from wdl2sfn.task_runner.handlers import Runtime, Settings
from wdl2sfn.task_runner.store import RunStore

from ..conftest import sample


class JobDefinitions:
    """Batch's job definition calls, every image already registered."""

    def describe_job_definitions(self, **kw: Any) -> dict[str, Any]:
        return {"jobDefinitions": [{"status": "ACTIVE"}]}

    def register_job_definition(self, **kw: Any) -> dict[str, Any]:
        return {}


@pytest.fixture
def hello(tmp_path: Path) -> tuple[Runtime, dict[str, Any]]:
    compiled = compile_workflow(str(sample("hello")))
    store = RunStore(tmp_path / "runs")
    write_bundle(store, compiled.digest, compiled.main, compiled.name, compiled.sources)
    workflow = {"name": compiled.name, "digest": compiled.digest}
    return Runtime(Settings(store=store)), workflow


def init(runtime: Runtime, workflow: dict[str, Any], name: str, who: str = "a") -> Any:
    event = {"input": {"inputs": {"hello.who": who}, "run": {"name": name}}, "workflow": workflow}
    return runtime.init({**event, "execution": "exec-1"})


@pytest.mark.parametrize(
    "name", ["_CACHE", "_workflows", "two\nlines", "../escape", ".hidden", "a/b", "x" * 129]
)
def test_init_refuses_a_run_name_that_is_not_a_plain_folder_name(hello, name):
    runtime, workflow = hello
    with pytest.raises(WdlInputError, match="invalid run name"):
        init(runtime, workflow, name)
    assert sorted(p.name for p in runtime.settings.store.root.iterdir()) == [".wdl2sfn"]


def test_init_never_reuses_an_existing_run_for_other_inputs(hello):
    runtime, workflow = hello
    assert init(runtime, workflow, "nightly", who="first") == {"run": "nightly"}
    with pytest.raises(WdlInputError, match="already exists"):
        init(runtime, workflow, "nightly", who="second")
    record = runtime.run_record("nightly")
    assert record["inputs"] == {"hello.who": "first"}


def test_a_retried_init_with_the_same_request_is_the_same_run(hello):
    runtime, workflow = hello
    assert init(runtime, workflow, "nightly") == init(runtime, workflow, "nightly")


def test_the_runtime_digest_of_sources_is_the_compilers(tmp_path):
    compiled = compile_workflow(str(sample("subworkflow")))
    assert sources_digest(compiled.sources, compiled.main) == compiled.digest


def test_a_corrupted_bundle_without_its_sources_fails_clearly(hello):
    runtime, workflow = hello
    store = runtime.settings.store
    main = store.workflows_dir(workflow["digest"]) / "hello.wdl"
    main.write_text(main.read_text() + "\n# tampered\n")
    with pytest.raises(WdlInputError, match="do not match their digest"):
        fetch_bundle(runtime.settings, workflow["digest"])
    manifest = json.loads((main.parent / "bundle.json").read_text())
    assert manifest["digest"] == workflow["digest"]


def test_copy_input_files_in_the_run_options_makes_prepare_copy(tmp_path):
    compiled = compile_workflow(str(sample("files")))
    store = RunStore(tmp_path / "runs")
    write_bundle(store, compiled.digest, compiled.main, compiled.name, compiled.sources)
    text = tmp_path / "text.txt"
    text.write_text("one\ntwo\nthree\n")
    runtime = Runtime(Settings(store=store, job_definitions=JobDefinitions()))
    request = {"inputs": {"files.text": str(text)}, "run": {"name": "r", "copy_input_files": True}}
    workflow = {"name": compiled.name, "digest": compiled.digest}
    runtime.init({"input": request, "workflow": workflow})
    queues = {"cpu": "arn:q/cpu", "spot": "arn:q/spot", "gpu": "arn:q/gpu"}
    runtime.prepare({"run": "r", "node": "call-split_lines", "shard": [], "queues": queues})
    (placed,) = (store.run_dir("r") / "calls" / "split_lines" / "inputs").glob("*/text.txt")
    assert placed.read_text() == text.read_text()
    assert placed.stat().st_ino != text.stat().st_ino
