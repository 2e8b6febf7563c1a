"""`wdl2sfn deploy`, `run --backend aws` and `stop`, as subprocesses, against moto's server.

moto cannot invoke our Lambda functions, so no execution here gets past `init`: what is asserted
is what the CLI controls (deployed definitions, the bundle, the execution input, how an ended
execution is reported), never a workflow's outputs.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from wdl2sfn.compiler import compile_workflow
from wdl2sfn.contract import CALL_MACHINE, FINISH_MACHINE, START_MACHINE

from ..conftest import sample
from .conftest import STACK, STACK_FSX, STACK_WITHOUT_ROLE, Moto

WDL_TEMPLATE = """version 1.1

workflow {name} {{
  input {{
    String who = "world"
  }}
  call greet {{ input: who = who }}
  output {{
    String message = greet.message
  }}
}}

task greet {{
  input {{
    String who
  }}
  command <<<
    echo "{greeting}, ~{{who}}!"
  >>>
  output {{
    String message = read_string(stdout())
  }}
  runtime {{
    container: "ubuntu:22.04"
  }}
}}
"""


def write_wdl(tmp_path: Path, name: str, greeting: str = "Hello") -> Path:
    path = tmp_path / f"{name}.wdl"
    path.write_text(WDL_TEMPLATE.format(name=name, greeting=greeting))
    return path


def write_scatter_wdl(tmp_path: Path, name: str) -> Path:
    """A workflow with a scatter: its eval is a run-time step of the workflow's own machine
    (init, calls and outputs run in the stack's machines)."""
    text = WDL_TEMPLATE.format(name=name, greeting="Hello").replace(
        "  call greet { input: who = who }",
        "  scatter (w in [who]) {\n    call greet as each { input: who = w }\n  }\n"
        "  call greet { input: who = who }",
    )
    path = tmp_path / f"{name}.wdl"
    path.write_text(text)
    return path


def ok(proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def machines_named(moto: Moto, name: str) -> list[dict]:
    found = moto.client("stepfunctions").list_state_machines()["stateMachines"]
    return [m for m in found if m["name"] == name]


def definition_of(moto: Moto, arn: str) -> str:
    return moto.client("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"]


# ---------------------------------------------------------------------------- deploy


def test_deploy_creates_machine_with_every_placeholder_substituted(moto: Moto, tmp_path: Path):
    out = ok(moto.cli("deploy", str(write_wdl(tmp_path, "created")), "--stack", STACK))
    assert out["action"] == "created"
    assert out["state_machine"] == f"{STACK}-created"
    text = definition_of(moto, out["state_machine_arn"])
    assert "${" not in text
    assert moto.outputs()["StartMachineArn"] in text  # init: the stack's start machine
    described = moto.client("stepfunctions").describe_state_machine(
        stateMachineArn=out["state_machine_arn"]
    )
    assert described["type"] == "STANDARD"
    assert described["roleArn"] == moto.outputs()["StateMachineRoleArn"]


def test_deploy_leaves_the_stack_machines_to_the_stack_and_starts_them(moto: Moto, tmp_path: Path):
    """The start, call and finish machines are the stack's (cdk_app/wdl2sfn_cdk/calls.py):
    deploy creates only the workflow's machine, whose init, call and outputs Tasks start them."""
    stack_machines = {k: moto.outputs()[k] for k in (START_MACHINE, CALL_MACHINE, FINISH_MACHINE)}
    before = {arn: definition_of(moto, arn) for arn in stack_machines.values()}
    names = {m["name"] for m in moto.client("stepfunctions").list_state_machines()["stateMachines"]}
    out = ok(moto.cli("deploy", str(write_wdl(tmp_path, "starts")), "--stack", STACK))
    after = moto.client("stepfunctions").list_state_machines()["stateMachines"]
    assert {m["name"] for m in after} - names == {f"{STACK}-starts"}
    assert {arn: definition_of(moto, arn) for arn in stack_machines.values()} == before
    text = definition_of(moto, out["state_machine_arn"])
    assert all(arn in text for arn in stack_machines.values())
    assert all("${" not in t for t in before.values())


def test_deploy_to_an_fsx_stack_compiles_for_fsx_without_being_told(moto: Moto, tmp_path: Path):
    wdl = write_scatter_wdl(tmp_path, "onfsx")
    out = ok(moto.cli("deploy", str(wdl), "--stack", STACK_FSX))
    text = definition_of(moto, out["state_machine_arn"])
    assert (
        "lambda:invoke" not in text
    )  # FSx: the run-time steps (the scatter's eval) are runner jobs
    assert moto.outputs(STACK_FSX)["RunnerJobDefinitionArn"] in text
    assert moto.outputs(STACK_FSX)[CALL_MACHINE] in text  # the FSx stack's own call machine
    call = definition_of(moto, moto.outputs(STACK_FSX)[CALL_MACHINE])
    assert "lambda:invoke" not in call and moto.outputs(STACK_FSX)["RunBucket"] in call


def test_an_explicit_filesystem_wins_over_the_stacks(moto: Moto, tmp_path: Path):
    wdl = str(write_scatter_wdl(tmp_path, "forced"))
    proc = moto.cli("deploy", wdl, "--stack", STACK_FSX, "--filesystem", "efs")
    assert proc.returncode == 2
    assert "EvalFunctionArn" in proc.stderr  # the EFS definition's scatter eval is a function


def test_deploy_uploads_sources_bundle_to_run_bucket(moto: Moto, tmp_path: Path):
    wdl = write_wdl(tmp_path, "bundled")
    out = ok(moto.cli("deploy", str(wdl), "--stack", STACK))
    digest = compile_workflow(str(wdl)).digest
    bucket = moto.outputs()["RunBucket"]
    assert out["bundle"] == f"s3://{bucket}/_workflows/{digest}/"
    s3 = moto.client("s3")
    marker = json.loads(
        s3.get_object(Bucket=bucket, Key=f"_workflows/{digest}/bundle.json")["Body"].read()
    )
    assert marker == {"main": "bundled.wdl", "name": "bundled", "digest": digest}
    source = s3.get_object(Bucket=bucket, Key=f"_workflows/{digest}/bundled.wdl")["Body"].read()
    assert source.decode() == wdl.read_text()


def test_redeploy_of_same_wdl_leaves_machine_unchanged(moto: Moto, tmp_path: Path):
    wdl = str(write_wdl(tmp_path, "again"))
    first = ok(moto.cli("deploy", wdl, "--stack", STACK))
    second = ok(moto.cli("deploy", wdl, "--stack", STACK))
    assert (first["action"], second["action"]) == ("created", "unchanged")
    assert second["state_machine_arn"] == first["state_machine_arn"]
    assert len(machines_named(moto, f"{STACK}-again")) == 1


def test_deploy_of_changed_wdl_updates_the_same_machine(moto: Moto, tmp_path: Path):
    first = ok(moto.cli("deploy", str(write_wdl(tmp_path, "edited")), "--stack", STACK))
    changed = write_wdl(tmp_path, "edited", greeting="Bonjour")
    second = ok(moto.cli("deploy", str(changed), "--stack", STACK))
    assert second["action"] == "updated"
    assert second["state_machine_arn"] == first["state_machine_arn"]
    assert len(machines_named(moto, f"{STACK}-edited")) == 1
    assert second["digest"] != first["digest"]
    assert second["digest"] in definition_of(moto, second["state_machine_arn"])


def test_deploy_over_a_cdk_managed_machine_says_it_drifts_from_the_template(
    moto: Moto, tmp_path: Path
):
    """The CDK app tags every resource of its stack ``wdl2sfn:stack``; a machine carrying that
    tag is CloudFormation's: updating it outside the template is drift, which the next `cdk
    deploy` reverts (issue 20 item 16)."""
    first = ok(moto.cli("deploy", str(write_wdl(tmp_path, "managed")), "--stack", STACK))
    moto.client("stepfunctions").tag_resource(
        resourceArn=first["state_machine_arn"], tags=[{"key": "wdl2sfn:stack", "value": STACK}]
    )
    changed = write_wdl(tmp_path, "managed", greeting="Bonjour")
    proc = moto.cli("deploy", str(changed), "--stack", STACK)
    assert ok(proc)["action"] == "updated"
    assert f"state machine {STACK}-managed is managed by the CDK app" in proc.stderr
    assert "cdk deploy" in proc.stderr


def test_deploy_creates_subworkflow_machines_first_and_links_them(moto: Moto):
    wdl = str(sample("subworkflow"))
    out = ok(moto.cli("deploy", wdl, "--stack", STACK, "--subworkflows", "machine"))
    child = out["children"]["summarize"]
    assert child["state_machine"] == f"{STACK}-summarize"
    assert child["action"] == "created"
    parent = definition_of(moto, out["state_machine_arn"])
    assert child["state_machine_arn"] in parent
    assert "${" not in parent and "${" not in definition_of(moto, child["state_machine_arn"])


def test_deploy_without_role_output_is_a_usage_error_naming_the_output(moto: Moto, tmp_path: Path):
    proc = moto.cli("deploy", str(write_wdl(tmp_path, "norole")), "--stack", STACK_WITHOUT_ROLE)
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["error"] == "MissingStackOutput"
    assert "StateMachineRoleArn" in proc.stderr.strip().splitlines()[-1]
    assert machines_named(moto, f"{STACK_WITHOUT_ROLE}-norole") == []


def test_deploy_with_role_arn_option_needs_no_role_output(moto: Moto, tmp_path: Path):
    role = "arn:aws:iam::123456789012:role/given"
    wdl = str(write_wdl(tmp_path, "givenrole"))
    out = ok(moto.cli("deploy", wdl, "--stack", STACK_WITHOUT_ROLE, "--role-arn", role))
    described = moto.client("stepfunctions").describe_state_machine(
        stateMachineArn=out["state_machine_arn"]
    )
    assert described["roleArn"] == role


def test_deploy_to_missing_stack_is_a_usage_error(moto: Moto, tmp_path: Path):
    proc = moto.cli("deploy", str(write_wdl(tmp_path, "nostack")), "--stack", "no-such-stack")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["error"] == "StackNotFound"
    assert "no-such-stack" in proc.stderr.strip().splitlines()[-1]


# ---------------------------------------------------------------------------- run


def test_run_starts_execution_with_contract_input_and_exits_without_waiting(moto: Moto):
    wdl = str(sample("hello"))
    out = ok(moto.cli("run", wdl, "--backend", "aws", "--stack", STACK, "who=aws"))
    assert set(out) >= {"execution_arn", "run", "console_url"}
    assert out["console_url"].endswith(out["execution_arn"])
    sfn = moto.client("stepfunctions")
    execution = sfn.describe_execution(executionArn=out["execution_arn"])
    assert execution["status"] == "RUNNING"  # moto does not execute ASL unless told to
    request = json.loads(execution["input"])
    assert request == {
        "inputs": {"hello.who": "aws"},
        "run": {
            "name": execution["name"],
            "s3upload": None,
            "delete_after": None,
            "no_cache": False,
            "tags": {},
        },
    }
    assert execution["name"].endswith("_hello")


def test_run_passes_options_and_tags_in_the_run_record(moto: Moto, tmp_path: Path):
    wdl = str(write_wdl(tmp_path, "options"))
    args = ["--s3upload", "s3://results/here", "--delete-after", "success", "--no-cache"]
    args += ["--tag", "project=x", "--tag", "owner=me"]
    out = ok(moto.cli("run", wdl, "--backend", "aws", "--stack", STACK, *args))
    execution = moto.client("stepfunctions").describe_execution(executionArn=out["execution_arn"])
    run = json.loads(execution["input"])["run"]
    assert run == {
        "name": execution["name"],
        "s3upload": "s3://results/here",
        "delete_after": "success",
        "no_cache": True,
        "tags": {"project": "x", "owner": "me"},
    }
    assert out["run"] == run


def test_run_deploys_once_and_reuses_the_machine(moto: Moto, tmp_path: Path):
    wdl = str(write_wdl(tmp_path, "reused"))
    first = moto.cli("run", wdl, "--backend", "aws", "--stack", STACK)
    second = moto.cli("run", wdl, "--backend", "aws", "--stack", STACK)
    assert f"{STACK}-reused: created" in first.stderr
    assert f"{STACK}-reused: unchanged" in second.stderr
    arns = {ok(first)["execution_arn"], ok(second)["execution_arn"]}
    assert len(arns) == 2  # the second run of the same second gets its own execution
    assert len(machines_named(moto, f"{STACK}-reused")) == 1


def test_run_rejects_bad_s3upload_before_deploying(moto: Moto, tmp_path: Path):
    wdl = str(write_wdl(tmp_path, "badupload"))
    proc = moto.cli("run", wdl, "--backend", "aws", "--stack", STACK, "--s3upload", "here")
    assert proc.returncode == 2
    assert "--s3upload" in proc.stderr.strip().splitlines()[-1]
    assert machines_named(moto, f"{STACK}-badupload") == []


def test_run_wait_reports_failed_execution_as_error_json(executing: Moto, tmp_path: Path):
    wdl = str(write_wdl(tmp_path, "waited"))
    proc = executing.cli("run", wdl, "--backend", "aws", "--stack", STACK, "--wait")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    error = json.loads(proc.stdout)
    assert error["status"] == "FAILED"
    # moto cannot reach our (fake) init Lambda: the execution fails in the first state. The
    # message is moto's own words (usually naming 'init'; under load once "KeyError('RequestId')"),
    # so only its presence is ours to check.
    assert error["error"] == "States.Runtime"
    assert error["message"].strip()
    assert error["console_url"] in error["summary"]
    assert proc.stderr.strip().splitlines()[-1].startswith("wdl2sfn: States.Runtime")


def test_run_follow_prints_history_events_on_stderr(executing: Moto, tmp_path: Path):
    wdl = str(write_wdl(tmp_path, "followed"))
    args = ["--backend", "aws", "--stack", STACK, "--follow", "--verbose"]
    proc = executing.cli("run", wdl, *args)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert any("TaskStateEntered init" in line for line in lines), proc.stderr
    assert any("ExecutionFailed" in line for line in lines), proc.stderr
    assert json.loads(proc.stdout)["status"] == "FAILED"


def test_stop_aborts_a_running_execution(moto: Moto, tmp_path: Path):
    wdl = str(write_wdl(tmp_path, "stopped"))
    started = ok(moto.cli("run", wdl, "--backend", "aws", "--stack", STACK))
    out = ok(moto.cli("stop", started["execution_arn"]))
    assert out["status"] == "ABORTED"
    execution = moto.client("stepfunctions").describe_execution(
        executionArn=started["execution_arn"]
    )
    assert execution["status"] == "ABORTED"
