"""Versions: every deploy publishes a version of the workflow's machine and points the alias
`live` at it; `deploy --rollback` points `live` back; `run` starts the version of the WDL it was
given, and every execution names the version it ran."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Served, serve

pytestmark = pytest.mark.slow

WDL = """version 1.1
workflow versioned {
  call say
  output { String said = say.said }
}
task say {
  command <<< echo "%s" >>>
  output { String said = read_string(stdout()) }
  runtime { docker: "ubuntu:22.04" }
}
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(tmp_path_factory.mktemp("served"))


def ok(done: Any) -> Any:
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    return json.loads(done.stdout)


def workflow(folder: Path, word: str) -> str:
    path = folder / word / "versioned.wdl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(WDL % word)
    return str(path)


def number(arn: str) -> int:
    return int(arn.rsplit(":", 1)[-1])


def live(served: Served, machine_arn: str) -> int:
    alias = served.client("stepfunctions").describe_state_machine_alias(
        stateMachineAliasArn=f"{machine_arn}:live"
    )
    return number(alias["routingConfiguration"][0]["stateMachineVersionArn"])


def finished(served: Served, execution_arn: str) -> dict[str, Any]:
    sfn = served.client("stepfunctions")
    deadline = time.time() + 300
    while (found := sfn.describe_execution(executionArn=execution_arn))["status"] == "RUNNING":
        assert time.time() < deadline
        time.sleep(0.5)
    return dict(found)


@pytest.fixture(scope="module")
def deployed(served: Served, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`deploy` of one workflow, then of a changed one, then of the changed one again."""
    folder = tmp_path_factory.mktemp("wdl")
    first = ok(served.cli("deploy", workflow(folder, "one")))
    second = ok(served.cli("deploy", workflow(folder, "two")))
    again = ok(served.cli("deploy", workflow(folder, "two")))
    return {"folder": folder, "first": first, "second": second, "again": again}


def test_each_changed_deploy_publishes_a_version_and_moves_live(
    served: Served, deployed: dict[str, Any]
) -> None:
    first, second = deployed["first"], deployed["second"]
    assert (number(first["version_arn"]), number(second["version_arn"])) == (1, 2)
    assert second["alias_arn"] == f"{second['state_machine_arn']}:live"
    assert live(served, second["state_machine_arn"]) == 2


def test_an_unchanged_deploy_keeps_its_version(deployed: dict[str, Any]) -> None:
    assert deployed["again"]["action"] == "unchanged"
    assert deployed["again"]["version_arn"] == deployed["second"]["version_arn"]


def test_rollback_points_live_at_the_previous_version_and_runs_on_live_run_it(
    served: Served, deployed: dict[str, Any]
) -> None:
    machine = deployed["second"]["state_machine_arn"]
    rolled = ok(served.cli("deploy", workflow(deployed["folder"], "two"), "--rollback"))
    assert (number(rolled["from_version_arn"]), number(rolled["to_version_arn"])) == (2, 1)
    assert live(served, machine) == 1
    sfn = served.client("stepfunctions")
    started = sfn.start_execution(stateMachineArn=f"{machine}:live", name="on-live",
                                  input=json.dumps({"inputs": {}}))  # fmt: skip
    done = finished(served, started["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    assert number(done["stateMachineVersionArn"]) == 1
    assert done["stateMachineAliasArn"] == f"{machine}:live"
    outputs = json.loads(done["output"])
    assert "one" in json.dumps(outputs)  # version 1's workflow ran


def test_rollback_past_the_first_version_is_refused(
    served: Served, deployed: dict[str, Any]
) -> None:
    path = workflow(deployed["folder"], "two")
    while (done := served.cli("deploy", path, "--rollback")).returncode == 0:
        pass
    assert done.returncode == 2
    assert "the oldest there is" in done.stderr


def test_run_starts_the_version_of_its_workflow_and_status_names_it(
    served: Served, deployed: dict[str, Any]
) -> None:
    path = workflow(deployed["folder"], "two")
    machine = deployed["second"]["state_machine_arn"]
    before = live(served, machine)
    done = ok(served.cli("run", path, "--backend", "aws", "--wait"))
    assert done["outputs"] == {"versioned.said": "two"}
    run = done["dir"].rstrip("/").rsplit("/", 1)[-1]
    status = ok(served.cli("status", run, "--backend", "aws"))
    assert number(status["state_machine_version_arn"]) == 2
    assert live(served, machine) == before  # a run does not undo a rollback


PARENT = """version 1.1
import "child.wdl" as child
workflow parent {
  call child.child as c
  output { String said = c.said }
}
"""
CHILD = """version 1.1
workflow child {
  call say { input: word = "%s" }
  output { String said = say.said }
}
task say {
  input { String word }
  command <<< echo "~{word}" >>>
  output { String said = read_string(stdout()) }
  runtime { docker: "ubuntu:22.04" }
}
"""
# The second child has another call: its machine's definition changes, not only its sources.
CHILD_TWO = CHILD.replace(
    "  output { String said = say.said }",
    "  call say as again { input: word = say.said }\n  output { String said = again.said }",
)


def parent_workflow(folder: Path, word: str) -> str:
    """The parent's own file never changes: only the child it imports does."""
    (folder / word).mkdir(parents=True, exist_ok=True)
    (folder / word / "child.wdl").write_text((CHILD if word == "one" else CHILD_TWO) % word)
    (folder / word / "parent.wdl").write_text(PARENT)
    return str(folder / word / "parent.wdl")


def test_a_parent_starts_its_children_by_the_version_deployed_with_it(
    served: Served, tmp_path: Path
) -> None:
    """A child machine changed in place would make every parent version run the newest child;
    by version, rolling the parent back runs the child it was deployed with."""
    machine = ["--subworkflows", "machine"]
    first = ok(served.cli("deploy", parent_workflow(tmp_path, "one"), *machine))
    second = ok(served.cli("deploy", parent_workflow(tmp_path, "two"), *machine))
    (child_one,) = first["children"].values()
    (child_two,) = second["children"].values()
    assert (number(child_one["version_arn"]), number(child_two["version_arn"])) == (1, 2)
    ok(served.cli("deploy", parent_workflow(tmp_path, "two"), *machine, "--rollback"))
    parent = second["state_machine_arn"]
    sfn = served.client("stepfunctions")
    started = sfn.start_execution(stateMachineArn=f"{parent}:live", name="parent-on-live",
                                  input=json.dumps({"inputs": {}}))  # fmt: skip
    done = finished(served, started["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    outputs = ok(served.cli("outputs", started["executionArn"], "--backend", "aws"))
    assert outputs["outputs"] == {"parent.said": "one"}
