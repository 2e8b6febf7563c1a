"""FSx join waits whose Batch job FAILED before answering their token fail their run (issue 20
item 3).

AWS Batch user guide, "Job state change events"
(https://docs.aws.amazon.com/batch/latest/userguide/batch_job_events.html): "Anytime that an
existing (previously submitted) job changes states, an event is created." and "The detail section
resembles the JobDetail object that's returned from a DescribeJobs API operation" (its example
shows ``"parameters": {}``): a rule on FAILED wait jobs reads the token the wait passed as a
SubmitJob parameter and answers it with SendTaskFailure, naming the job.
"""

from __future__ import annotations

import json
from typing import Any

from wdl2sfn.contract import JOIN_TOKEN_PARAMETER

from .conftest import Synth


def _rule(synth: Synth) -> dict[str, Any]:
    rules = [
        r["Properties"]
        for r in synth.resources("AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("source") == ["aws.batch"]
    ]
    assert len(rules) == 1, rules
    return rules[0]


def test_fsx_stack_matches_failed_wait_jobs_of_its_runner_queue(fsx: Synth) -> None:
    pattern = _rule(fsx)["EventPattern"]
    assert pattern["detail-type"] == ["Batch Job State Change"]
    detail = pattern["detail"]
    assert detail["status"] == ["FAILED"]
    assert detail["jobName"] == ["wdl2sfn-join"]
    assert detail["jobQueue"] == [{"Fn::GetAtt": [_logical(fsx, "RunnerQueue"), "JobQueueArn"]}]
    assert detail["parameters"] == {JOIN_TOKEN_PARAMETER: [{"exists": True}]}


def test_the_failed_wait_answer_names_the_job_and_its_reason(fsx: Synth) -> None:
    (target,) = _rule(fsx)["Targets"]
    transformer = target["InputTransformer"]
    paths = transformer["InputPathsMap"]
    assert f"$.detail.parameters.{JOIN_TOKEN_PARAMETER}" in paths.values()
    assert {"$.detail.jobName", "$.detail.jobId", "$.detail.statusReason"} <= set(paths.values())
    template = transformer["InputTemplate"]
    assert '"cause":"wait job <detail-jobName> (<detail-jobId>) FAILED: <detail-statusReason>"' in (
        template
    )


def test_the_failed_wait_machine_answers_with_send_task_failure(fsx: Synth) -> None:
    (machine,) = [
        m
        for m in fsx.resources("AWS::StepFunctions::StateMachine").values()
        if m["Properties"].get("StateMachineType") == "EXPRESS"
    ]
    definition = json.dumps(machine["Properties"]["DefinitionString"])
    assert "aws-sdk:sfn:sendTaskFailure" in definition
    (role,) = [
        p for k, p in fsx.resources("AWS::IAM::Policy").items() if k.startswith("FailedWaitsRole")
    ]
    actions = [s["Action"] for s in role["Properties"]["PolicyDocument"]["Statement"]]
    actions = [a for action in actions for a in (action if isinstance(action, list) else [action])]
    assert "states:SendTaskFailure" in actions


def test_efs_stacks_have_no_wait_jobs_to_watch(new_vpc: Synth) -> None:
    batch_rules = [
        r
        for r in new_vpc.resources("AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("source") == ["aws.batch"]
    ]
    assert batch_rules == []


def _logical(synth: Synth, prefix: str) -> str:
    (logical,) = [
        k
        for k, v in synth.template["Resources"].items()
        if k.startswith(prefix) and v["Type"] == "AWS::Batch::JobQueue"
    ]
    return logical
