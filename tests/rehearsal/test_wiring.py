"""The stack's own wiring, rehearsed: each test names what AWS would have refused before its fix
(the review's defects, docs/rehearsal.md), and what the rehearsal records."""

from __future__ import annotations

import base64
import email
import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import FIXTURES, REPO, SAMPLES, Rehearsed, clean_env, cli, rehearse

HELLO = SAMPLES / "hello" / "hello.wdl"
REPO_FIXTURES = REPO / "tests" / "fixtures"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hello_efs(tmp_path_factory: pytest.TempPathFactory) -> Rehearsed:
    return rehearse(tmp_path_factory.mktemp("efs"), HELLO)


@pytest.fixture(scope="module")
def hello_fsx(tmp_path_factory: pytest.TempPathFactory) -> Rehearsed:
    return rehearse(tmp_path_factory.mktemp("fsx"), HELLO, "-c", "variant=fsx")


# ------------------------------------------------------------------ what a rehearsal records


def test_every_aws_call_is_logged_with_principal_action_resource_and_size(
    hello_efs: Rehearsed,
) -> None:
    calls = hello_efs.calls()
    assert {"principal", "service", "action", "resource", "allowed", "request_bytes"} <= set(
        calls[0]
    )
    principals = {c["principal"] for c in calls}
    assert "operator" in principals  # the stack's deployment (cdk deploy's credentials)
    assert "wdl2sfn-cli" in principals  # the run: the CLI user the stack's CliUserPolicy allows
    assert any("PrepareFunctionServiceRole" in p for p in principals)  # the Lambda's role
    submits = [c for c in calls if c["action"] == "SubmitJob"]
    # the Batch .sync states are the stack machines' (cdk_app/wdl2sfn_cdk/calls.py), each under
    # its own role: a call's task job is `call: run` of the call machine, the outputs' upload
    # job (runner image) `upload outputs` of the finish machine; the workflow's role submits none
    uploads = [c for c in submits if "job-definition/wdl2sfn-runner-" in c["resource"]]
    tasks = [c for c in submits if c not in uploads]
    assert tasks and all("CallMachineRole" in c["principal"] for c in tasks)
    assert uploads and all("FinishMachineRole" in c["principal"] for c in uploads)
    assert all(c["request_bytes"] > 0 for c in submits)


def test_registered_job_definitions_and_templates_are_kept(hello_efs: Rehearsed) -> None:
    names = {d["jobDefinitionName"] for d in hello_efs.job_definitions()}
    assert any(n.startswith("wdl2sfn-runner-") for n in names)
    assert hello_efs.task_definitions()
    assert hello_efs.template()["Resources"]


# ------------------------------------------------------------------ the defects


def test_task_jobs_mount_efs_with_iam_authorization_and_the_task_role(
    hello_efs: Rehearsed,
) -> None:
    """Defect 1: EFS IAM authorization needs transit encryption and a job role that may mount."""
    assert hello_efs.returncode == 0, hello_efs.stderr[-2000:]
    (task,) = hello_efs.task_definitions()
    props = task["containerProperties"]
    (efs,) = [
        v["efsVolumeConfiguration"] for v in props["volumes"] if "efsVolumeConfiguration" in v
    ]
    assert efs["authorizationConfig"]["iam"] == "ENABLED"
    assert efs["transitEncryption"] == "ENABLED"
    assert "TaskJobRole" in props["jobRoleArn"]


def test_task_jobs_on_fsx_mount_the_file_system_the_hosts_mount(hello_fsx: Rehearsed) -> None:
    """Defect 2: with FSx the task job definitions had no volume at all."""
    assert hello_fsx.returncode == 0, hello_fsx.stderr[-2000:]
    (task,) = hello_fsx.task_definitions()
    volumes = task["containerProperties"]["volumes"]
    (shared,) = [v["host"]["sourcePath"] for v in volumes if v["name"] == "shared"]
    assert shared.startswith("/mnt/net/wdl2sfn/runs/")  # the run's folder on the Lustre mount


def test_task_jobs_use_the_instances_scratch_volume(tmp_path: Path) -> None:
    """Defect 12: tasks wrote temporary files to the root volume (TMPDIR=/tmp)."""
    done = rehearse(tmp_path, FIXTURES / "scratch.wdl")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.result["outputs"]["scratch.tmpdir"].startswith("/mnt/scratch/")
    functions = [
        r["Properties"]["Environment"]["Variables"]
        for r in done.template()["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and "Environment" in r.get("Properties", {})
    ]
    assert functions and all("WDL2SFN_SCRATCH" not in env for env in functions)


def test_hosts_mount_no_efs_and_pull_task_images_once(hello_efs: Rehearsed) -> None:
    """Defects 8 and 14: user data mounted EFS (unused, under set -e) and pulled every job's
    image afresh from Docker Hub."""
    for resource in hello_efs.template()["Resources"].values():
        if resource["Type"] != "AWS::EC2::LaunchTemplate":
            continue
        text = user_data_text(resource["Properties"]["LaunchTemplateData"]["UserData"])
        assert "ECS_IMAGE_PULL_BEHAVIOR=once" in text
        assert "efs" not in text.lower()


def user_data_text(user_data: dict[str, object]) -> str:
    """The shell parts of a launch template's MIME user data (literal parts of Fn::Join)."""
    parts = user_data["Fn::Base64"]["Fn::Join"][1]  # type: ignore[index]
    text = ""
    for part in parts:
        if isinstance(part, str):
            text += part
        elif isinstance(part, dict) and isinstance(part.get("Fn::Base64"), str):
            text += base64.b64encode(part["Fn::Base64"].encode()).decode()
    message = email.message_from_string(text)
    payloads = [p.get_payload(decode=True) for p in message.walk() if not p.is_multipart()]
    return "\n".join(p.decode() for p in payloads if isinstance(p, bytes))


def test_fsx_init_takes_an_input_over_the_submit_job_quota(tmp_path: Path) -> None:
    """Defect 7: FSx init passed the whole execution input in SubmitJob (30 KiB at most)."""
    name = "n" * 40_000
    done = rehearse(tmp_path, HELLO, "-c", "variant=fsx", f"who={name}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert name in done.result["outputs"]["hello.message"]
    assert max(c["request_bytes"] for c in done.calls() if c["action"] == "SubmitJob") < 30 * 1024


def test_batch_server_errors_are_retried(tmp_path: Path) -> None:
    """Defect 9: Batch.ServerException (HTTP 500) failed the run instead of being retried."""
    env = clean_env(WDL2SFN_REHEARSAL_FAULTS=json.dumps({"SubmitJob": 1}))
    done = cli("rehearse", str(HELLO), "-i", "inputs.json", "--dir", str(tmp_path),
               cwd=HELLO.parent, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    (folder,) = tmp_path.iterdir()
    calls = [json.loads(x) for x in (folder / "aws-calls.jsonl").open()]
    submits = [c["allowed"] for c in calls if c["action"] == "SubmitJob"]
    assert submits[0] is False and submits[-1] is True


def test_fsx_runner_steps_are_not_retried_for_wdl_errors(tmp_path: Path) -> None:
    """Defect 11: the runner job definition retried every failure 3 times."""
    done = rehearse(tmp_path, FIXTURES / "bad_runtime_value.wdl", "-c", "variant=fsx")
    assert done.returncode == 1
    (runner,) = [d for d in done.job_definitions() if "-runner-" in d["jobDefinitionName"]]
    rules = runner["retryStrategy"]["evaluateOnExit"]
    assert ("*", "EXIT") in [(r.get("onReason"), r["action"].upper()) for r in rules]
    causes = [json.loads(e["taskFailedEventDetails"]["cause"]) for e in _events(done)
              if e["type"] == "TaskFailed"]  # fmt: skip
    failed = [c for c in causes if "JobId" in c]  # Batch jobs (a child's failure is its Task's)
    assert failed and all(len(job["Attempts"]) == 1 for job in failed)


def _events(done: Rehearsed) -> list[dict[str, Any]]:
    """Every history event of every execution of the rehearsal."""
    paths = sorted((done.folder / "executions").rglob("history.jsonl"))
    return [json.loads(line) for path in paths for line in path.open() if line.strip()]


def test_long_workflow_names_deploy_to_distinct_machines(tmp_path: Path) -> None:
    """Defect 15: names cut at 80 characters collided; the survivor started itself."""
    done = rehearse(tmp_path, FIXTURES / "long_names.wdl", "--subworkflows", "machine")
    assert done.returncode == 0, done.stderr[-2000:]
    created = [c["resource"] for c in done.calls() if c["action"] == "CreateStateMachine"]
    names = [arn.rsplit(":", 1)[-1] for arn in created]
    assert len(set(names)) >= 2 and all(len(n) <= 80 for n in names)
    assert done.result["outputs"][next(iter(done.result["outputs"]))] == 42


def test_subworkflow_machines_start_and_follow_their_children(tmp_path: Path) -> None:
    """Defect 5: roles allowed only Map Run children (execution:<child>/*)."""
    wdl = SAMPLES / "subworkflow" / "subworkflow.wdl"
    done = rehearse(tmp_path, wdl, "--subworkflows", "machine")
    assert done.returncode == 0, done.stderr[-2000:]
    follows = [c for c in done.calls() if c["action"] == "DescribeExecution" and c["allowed"]]
    assert any(":execution:" in c["resource"] for c in follows)


def test_new_vpc_with_a_vpc_id_is_refused_naming_both(tmp_path: Path) -> None:
    """Defect 16: the existing VPC was used silently."""
    done = cli("rehearse", "--serve", "-c", "variant=new-vpc", "-c", "vpc_id=vpc-1",
               "--dir", str(tmp_path))  # fmt: skip
    assert done.returncode == 2
    assert "variant=new-vpc" in done.stderr and "vpc_id" in done.stderr


def test_exact_joins_are_answered_by_the_eval_functions_role(tmp_path: Path) -> None:
    """A non-series-parallel DAG waits on task tokens that the eval step answers through
    SendTaskSuccess (its role must allow it): here c's wait, b being done before it."""
    done = rehearse(tmp_path, REPO_FIXTURES / "n_shape.wdl")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.result["outputs"] == {"n_shape.c_y": 6, "n_shape.d_y": 4}
    answers = [c for c in done.calls() if c["action"] == "SendTaskSuccess"]
    assert answers and all(c["allowed"] for c in answers)
    assert {"EvalFunction" in c["principal"] or "CollectFunction" in c["principal"]
            for c in answers} == {True}  # fmt: skip


def test_a_call_releases_its_waiters_through_its_collect_functions_role(tmp_path: Path) -> None:
    """b has no release state: its collect answers c's token once b is collected, so the
    Collect function's role needs states:SendTaskSuccess too (b is slow: c waits first)."""
    wdl = tmp_path / "slow_b.wdl"
    text = (REPO_FIXTURES / "n_shape.wdl").read_text()
    wdl.write_text(text.replace("input: x = 2 }", "input: x = 2, pause = 8 }").replace(
        "    Int x\n", "    Int x\n    Int pause = 0\n").replace(
        "command <<<\n", "command <<<\n    sleep ~{pause}\n"))  # fmt: skip
    done = rehearse(tmp_path / "r", wdl)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.result["outputs"] == {"n_shape.c_y": 6, "n_shape.d_y": 4}
    answers = [c for c in done.calls() if c["action"] == "SendTaskSuccess"]
    assert [("CollectFunction" in c["principal"], c["allowed"]) for c in answers] == [(True, True)]


def test_fsx_exact_joins_wait_in_a_runner_job_whose_role_answers_the_token(tmp_path: Path) -> None:
    """FSx: Lambda cannot reach the store, so the wait is a runner job submitted by
    `aws-sdk:batch:submitJob.waitForTaskToken` (the state machine role's batch:SubmitJob) and
    the token is answered by a runner job (the runner role's states:SendTaskSuccess)."""
    done = rehearse(tmp_path, REPO_FIXTURES / "n_shape.wdl", "-c", "variant=fsx")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.result["outputs"] == {"n_shape.c_y": 6, "n_shape.d_y": 4}
    answers = [c for c in done.calls() if c["action"] == "SendTaskSuccess"]
    assert answers and all(c["allowed"] and "RunnerJobRole" in c["principal"] for c in answers)
    waits = [e["type"] for e in _events(done)
             if _details(e).get("resource") == "submitJob.waitForTaskToken"]  # fmt: skip
    assert waits == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]


def _details(event: dict[str, Any]) -> dict[str, Any]:
    return next((v for k, v in event.items() if k.endswith("EventDetails")), {})


@pytest.mark.parametrize("variant", [[], ["-c", "variant=fsx"]], ids=["efs", "fsx"])
def test_a_task_sees_its_own_run_and_nothing_else_of_the_file_system(
    variant: list[str], tmp_path: Path
) -> None:
    """Issue 13 item 19: task containers mounted the whole file system (other runs, the cache)."""
    done = rehearse(tmp_path, FIXTURES / "escape.wdl", *variant)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = done.result["outputs"]["escape.seen"]
    assert seen == ["runs visible: 1", "in wdl2sfn: runs", "above runs: runs", "done a"]
    shared = Path(done.result["dir"]).parent / ".wdl2sfn"
    assert {"_CACHE", "_workflows"} <= {p.name for p in shared.iterdir()}  # there, yet unseen


def _map_concurrency(states: dict[str, Any], outer: int = 1) -> list[int]:
    """Shards in flight at once under each Map (the product of the enclosing MaxConcurrency)."""
    found: list[int] = []
    for state in states.values():
        if state.get("Type") == "Map":
            inner = outer * int(state.get("MaxConcurrency") or 1)
            found.append(inner)
            found += _map_concurrency(state["ItemProcessor"]["States"], inner)
        for branch in state.get("Branches", []):
            found += _map_concurrency(branch["States"], outer)
    return found


def test_a_scatter_keeps_its_lambda_invocations_under_the_regions_default(tmp_path: Path) -> None:
    """Defect 13: Distributed Map 1,000 children x 40 shards each against 1,000 concurrent Lambda
    executions per Region."""
    wdl = SAMPLES / "wide_scatter" / "wide_scatter.wdl"
    done = cli("compile", str(wdl), "-o", str(tmp_path / "wide.json"))
    assert done.returncode == 0, done.stderr[-2000:]
    definition = json.loads((tmp_path / "wide.json").read_text())
    in_flight = _map_concurrency(definition["States"])
    assert in_flight and max(in_flight) <= 800


def test_a_lost_spot_host_falls_back_on_demand_with_definitions_only_prepare_registered(
    tmp_path: Path,
) -> None:
    """The shared failure step (Collect's role) resubmits on demand with a job definition that
    prepare registered: only prepare's role may register one (and pass the job role)."""
    lost = {"job": "spot_chain-second", "queue": "*Spot*", "reason": "Host EC2 (i-1) terminated."}
    env = clean_env(WDL2SFN_LOCAL_BATCH_FAULTS=json.dumps([lost]))
    wdl = REPO_FIXTURES / "spot_chain.wdl"
    done = cli("rehearse", str(wdl), "--dir", str(tmp_path), cwd=wdl.parent, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["outputs"]["spot_chain.y"] == 3
    (folder,) = tmp_path.iterdir()
    calls = [json.loads(x) for x in (folder / "aws-calls.jsonl").open()]
    registrars = {c["principal"] for c in calls if c["action"] == "RegisterJobDefinition"}
    assert registrars and all("PrepareFunctionServiceRole" in p for p in registrars)
    tasks = [c["resource"] for c in calls if c["action"] == "SubmitJob" and c["allowed"]]
    tasks = [r for r in tasks if "-runner-" not in r]  # not the upload job
    assert len(tasks) == 3  # first; second on spot, then on demand with its own definition
    assert tasks[0] == tasks[1] != tasks[2]
