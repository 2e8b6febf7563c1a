"""The stack's call machine (cdk_app calls.py): deployed once, started by every workflow's call
states, allowed exactly what its definition does."""

from __future__ import annotations

import json
import re
from typing import Any

from wdl2sfn.compiler.stack_machines import call_machine
from wdl2sfn.contract import CALL_MACHINE, FINISH_MACHINE

from .conftest import Synth
from .test_stack import _actions, _resources, _statements, _workflow_machines


def _call_machine(synth: Synth) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (key, m["Properties"])
        for key, m in synth.resources("AWS::StepFunctions::StateMachine").items()
        if m["Properties"].get("StateMachineName", "").endswith("-call")
    ]
    return found


def test_the_stack_deploys_the_call_machine_of_its_file_system(any_variant: Synth) -> None:
    _, machine = _call_machine(any_variant)
    filesystem = "fsx" if any_variant.variant == "fsx" else "efs"
    assert json.loads(machine["DefinitionString"]) == call_machine(filesystem)
    used = set(re.findall(r"\$\{(\w+)\}", machine["DefinitionString"]))
    assert used == set(machine["DefinitionSubstitutions"])


def test_workflows_name_the_call_machine_through_the_stack(any_variant: Synth) -> None:
    (workflow,) = _workflow_machines(any_variant)
    key, _ = _call_machine(any_variant)
    value = workflow["Properties"]["DefinitionSubstitutions"][CALL_MACHINE]
    assert value == {"Ref": key}  # a state machine's Ref is its ARN


def test_a_workflows_role_may_start_and_follow_the_call_machine(any_variant: Synth) -> None:
    statements = _statements(any_variant, "WorkflowHelloStateMachinePolicy")
    (start,) = [s for s in statements if "states:StartExecution" in _actions(s)]
    assert any("-call" in json.dumps(r) for r in _resources(start))
    (follow,) = [s for s in statements if "states:DescribeExecution" in _actions(s)]
    assert any(
        ":execution:" in json.dumps(r) and "-call:*" in json.dumps(r) for r in _resources(follow)
    )


def test_the_call_machine_invokes_exactly_prepare_and_collect(efs_variant: Synth) -> None:
    statements = _statements(efs_variant, "CallMachinePolicy")
    (invoke,) = [s for s in statements if "lambda:InvokeFunction" in _actions(s)]
    targets = {r["Fn::GetAtt"][0].split("Function")[0] for r in _resources(invoke)}
    assert targets == {"Prepare", "Collect"}


def test_the_fsx_call_machine_invokes_no_lambda(fsx: Synth) -> None:
    statements = _statements(fsx, "CallMachinePolicy")
    assert not [s for s in statements if "lambda:InvokeFunction" in _actions(s)]
    assert [s for s in statements if "batch:SubmitJob" in _actions(s)]


def test_the_stack_deploys_the_finish_machine_that_workflows_end_with(any_variant: Synth) -> None:
    (key,) = [
        k
        for k, m in any_variant.resources("AWS::StepFunctions::StateMachine").items()
        if m["Properties"].get("StateMachineName", "").endswith("-wdl2sfn-finish")
    ]
    (workflow,) = _workflow_machines(any_variant)
    assert workflow["Properties"]["DefinitionSubstitutions"][FINISH_MACHINE] == {"Ref": key}
