"""WdlStateMachine on its own: subworkflow children and placeholders a stack lacks."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from wdl2sfn_cdk import load_config
from wdl2sfn_cdk.stack import Wdl2SfnStack
from wdl2sfn_cdk.state_machine import PlaceholderError, WdlStateMachine

from .conftest import StandIn


def _task(resource: str, params: dict[str, Any], end: bool = True) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, "Parameters": params, "End": end}


CHILD = StandIn(
    name="lib",
    definition={
        "StartAt": "prepare",
        "States": {
            "prepare": _task(
                "arn:aws:states:::lambda:invoke", {"FunctionName": "${PrepareFunctionArn}"}
            )
        },
    },
    placeholders=["PrepareFunctionArn"],
    digest="0123456789abcdef0123456789abcdef",
    sources={},
)
PARENT = StandIn(
    name="parent",
    definition={
        "StartAt": "call lib",
        "States": {
            "call lib": _task(
                "arn:aws:states:::states:startExecution.sync:2",
                {"StateMachineArn": "${StateMachineArn_lib}", "Input.$": "$"},
            )
        },
    },
    placeholders=["StateMachineArn_lib"],
    digest="0123456789abcdef0123456789abcdef",
    sources={"parent.wdl": "version 1.1\nworkflow parent {}\n", "lib.wdl": "version 1.1\n"},
    children={"lib": CHILD},
)


@pytest.fixture(scope="module")
def stack() -> Wdl2SfnStack:
    app = cdk.App()
    config = load_config({"variant": "new-vpc", "endpoints": "false"})
    return Wdl2SfnStack(app, "construct-test", config=config)


@pytest.fixture(scope="module")
def parent(stack: Wdl2SfnStack) -> dict[str, Any]:
    WdlStateMachine(stack, "Parent", wdl_path="parent.wdl", infra=stack, compiled=PARENT)
    return Template.from_stack(stack).to_json()


def _machines(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        v["Properties"]["StateMachineName"]: v["Properties"]
        for v in template["Resources"].values()
        if v["Type"] == "AWS::StepFunctions::StateMachine"
    }


def test_subworkflow_child_becomes_its_own_state_machine(parent: dict[str, Any]) -> None:
    stack = {f"construct-test-wdl2sfn-{m}" for m in ("call", "start", "finish")}
    machines = {"construct-test-parent", "construct-test-lib", *stack}
    assert set(_machines(parent)) == machines  # and the stack's own machines


def test_parent_starts_the_child_by_the_version_deployed_with_it(parent: dict[str, Any]) -> None:
    substitutions = _machines(parent)["construct-test-parent"]["DefinitionSubstitutions"]
    (ref,) = substitutions.values()
    assert list(substitutions) == ["StateMachineArn_lib"]
    logical_id, attribute = ref["Fn::GetAtt"]
    assert logical_id.startswith("ParentChildLibVersion") and attribute == "Arn"
    version = parent["Resources"][logical_id]
    assert version["Type"] == "AWS::StepFunctions::StateMachineVersion"
    assert version["DeletionPolicy"] == "Retain"
    assert version["Properties"]["StateMachineArn"]["Ref"].startswith("ParentChildLib")


def test_parent_may_start_and_follow_child_executions(parent: dict[str, Any]) -> None:
    statements = [
        s
        for k, v in parent["Resources"].items()
        if k.startswith("ParentStateMachinePolicy")
        for s in v["Properties"]["PolicyDocument"]["Statement"]
    ]
    text = json.dumps(statements)
    assert "stateMachine:construct-test-lib" in text
    assert "execution:construct-test-lib/*" in text
    assert "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule" in text


def test_missing_placeholder_is_a_synth_error(stack: Wdl2SfnStack) -> None:
    bad = StandIn(
        name="bad",
        definition={"StartAt": "x", "States": {"x": {"Type": "Pass", "End": True}}},
        placeholders=["NoSuchQueueArn"],
        digest="f" * 32,
        sources={},
    )
    with pytest.raises(PlaceholderError, match="NoSuchQueueArn"):
        WdlStateMachine(stack, "Bad", wdl_path="bad.wdl", infra=stack, compiled=bad)


def test_persistent_2_fsx_links_bucket_through_data_repository_association() -> None:
    app = cdk.App()
    config = load_config({"variant": "fsx", "fsx_deployment_type": "PERSISTENT_2"})
    template = Template.from_stack(Wdl2SfnStack(app, "fsx-persistent", config=config))
    template.has_resource_properties(
        "AWS::FSx::FileSystem",
        {
            "FileSystemTypeVersion": "2.15",
            "LustreConfiguration": {
                "DeploymentType": "PERSISTENT_2",
                "PerUnitStorageThroughput": 125,
                "DataCompressionType": "LZ4",
            },
        },
    )
    template.has_resource_properties(
        "AWS::FSx::DataRepositoryAssociation",
        {"FileSystemPath": "/s3", "BatchImportMetaDataOnCreate": True},
    )
