"""Differential tests: control-flow definitions run by moto's Step Functions interpreter (a port of
LocalStack's, which is tested against AWS) through a real HTTP endpoint, and by ours; status and
output (or error) must agree.

moto executes ASL only when its ``stepfunctions.execute_state_machine`` config is on; with the
server that is set through ``POST /moto-api/config``. All moto executions are started at once and
polled together to keep the module fast.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
import requests

from wdl2sfn.statemachine.executor import Executor

from .conftest import machine

moto_server = pytest.importorskip("moto.server")

PASS_END = {"Type": "Pass", "End": True}

CASES: dict[str, tuple[dict[str, Any], Any]] = {
    "pass_result_path_output_path": (
        machine(
            (
                "P",
                {
                    "Type": "Pass",
                    "Result": {"x": [1, 2]},
                    "ResultPath": "$.r",
                    "OutputPath": "$.r",
                    "End": True,
                },
            )
        ),
        {"a": 1},
    ),
    "pass_parameters_and_context": (
        machine(
            (
                "P",
                {
                    "Type": "Pass",
                    "Parameters": {
                        "k": "v",
                        "a.$": "$.a",
                        "in.$": "$$.Execution.Input.a",
                        "s.$": "$$.State.Name",
                    },
                    "End": True,
                },
            )
        ),
        {"a": {"b": 1}},
    ),
    "input_path_and_result_path_null": (
        machine(
            (
                "P",
                {"Type": "Pass", "InputPath": "$.a", "Result": 1, "ResultPath": None, "Next": "Q"},
            ),
            ("Q", {"Type": "Pass", "InputPath": "$.a", "End": True}),
        ),
        {"a": {"z": 2}},
    ),
    "choice_operators": (
        machine(
            (
                "C",
                {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "And": [
                                {"Variable": "$.n", "NumericGreaterThanEquals": 5},
                                {"Not": {"Variable": "$.s", "StringEquals": "no"}},
                            ],
                            "Next": "A",
                        },
                        {"Or": [{"Variable": "$.b", "BooleanEquals": True}], "Next": "B"},
                    ],
                    "Default": "D",
                },
            ),
            ("A", {"Type": "Pass", "Result": {"r": "A"}, "End": True}),
            ("B", {"Type": "Pass", "Result": {"r": "B"}, "End": True}),
            ("D", {"Type": "Pass", "Result": {"r": "D"}, "End": True}),
        ),
        {"n": 3, "s": "yes", "b": True},
    ),
    "choice_type_tests_and_path_comparisons": (
        machine(
            (
                "C",
                {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "And": [
                                {"Variable": "$.missing", "IsPresent": False},
                                {"Variable": "$.nil", "IsNull": True},
                                {"Variable": "$.n", "IsNumeric": True},
                                {"Variable": "$.t", "IsTimestamp": True},
                                {"Variable": "$.n", "NumericLessThanPath": "$.m"},
                                {"Variable": "$.f", "StringMatches": "log-*.txt"},
                                {"Variable": "$.t", "TimestampLessThan": "2030-01-01T00:00:00Z"},
                            ],
                            "Next": "Yes",
                        }
                    ],
                    "Default": "No",
                },
            ),
            ("Yes", {"Type": "Pass", "Result": {"r": "yes"}, "End": True}),
            ("No", {"Type": "Pass", "Result": {"r": "no"}, "End": True}),
        ),
        {"nil": None, "n": 1, "m": 2, "t": "2024-05-01T10:00:00Z", "f": "log-1.txt"},
    ),
    "map_item_selector_and_result_selector": (
        machine(
            (
                "M",
                {
                    "Type": "Map",
                    "ItemsPath": "$.xs",
                    "MaxConcurrency": 2,
                    "ItemSelector": {
                        "i.$": "$$.Map.Item.Index",
                        "v.$": "$$.Map.Item.Value",
                        "k.$": "$.k",
                    },
                    "ItemProcessor": machine(
                        (
                            "P",
                            {
                                "Type": "Pass",
                                "Parameters": {"sum.$": "States.MathAdd($.i, $.v)", "k.$": "$.k"},
                                "End": True,
                            },
                        )
                    ),
                    "ResultSelector": {"all.$": "$", "first.$": "$[0]"},
                    "ResultPath": "$.out",
                    "End": True,
                },
            )
        ),
        {"xs": [10, 20, 30], "k": "kk"},
    ),
    "parallel_with_nested_map": (
        machine(
            (
                "Par",
                {
                    "Type": "Parallel",
                    "ResultPath": "$.par",
                    "End": True,
                    "Branches": [
                        machine(("B1", {"Type": "Pass", "Result": {"one": 1}, "End": True})),
                        machine(
                            (
                                "B2",
                                {
                                    "Type": "Map",
                                    "ItemsPath": "$.xs",
                                    "ItemProcessor": machine(
                                        ("W", {"Type": "Wait", "Seconds": 0, "End": True})
                                    ),
                                    "End": True,
                                },
                            )
                        ),
                    ],
                },
            )
        ),
        {"xs": [1, 2]},
    ),
    "fail_state": (machine(("F", {"Type": "Fail", "Error": "MyError", "Cause": "my cause"})), {}),
    "catch_branch_error_with_result_path": (
        machine(
            (
                "Par",
                {
                    "Type": "Parallel",
                    "Branches": [machine(("F", {"Type": "Fail", "Error": "E1", "Cause": "c1"}))],
                    "Catch": [
                        {"ErrorEquals": ["Other"], "Next": "X"},
                        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Y"},
                    ],
                    "End": True,
                },
            ),
            ("X", {"Type": "Pass", "Result": {"r": "X"}, "End": True}),
            ("Y", PASS_END),
        ),
        {"a": 1},
    ),
    "retry_then_catch": (
        machine(
            (
                "Par",
                {
                    "Type": "Parallel",
                    "Branches": [machine(("F", {"Type": "Fail", "Error": "E1", "Cause": "c1"}))],
                    "Retry": [{"ErrorEquals": ["E1"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                    "Catch": [{"ErrorEquals": ["E1"], "Next": "Y"}],
                    "End": True,
                },
            ),
            ("Y", PASS_END),
        ),
        {},
    ),
    "map_iteration_failure_caught": (
        machine(
            (
                "M",
                {
                    "Type": "Map",
                    "ItemsPath": "$.xs",
                    "ItemProcessor": machine(
                        (
                            "C",
                            {
                                "Type": "Choice",
                                "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "F"}],
                                "Default": "P",
                            },
                        ),
                        ("P", PASS_END),
                        ("F", {"Type": "Fail", "Error": "Two", "Cause": "two"}),
                    ),
                    "Catch": [{"ErrorEquals": ["Two"], "ResultPath": "$.caught", "Next": "Done"}],
                    "End": True,
                },
            ),
            ("Done", PASS_END),
        ),
        {"xs": [1, 2, 3]},
    ),
    "intrinsics": (
        machine(
            (
                "P",
                {
                    "Type": "Pass",
                    "End": True,
                    "Parameters": {
                        "fmt.$": "States.Format('Hi {} and {}', $.name, $.n)",
                        "arr.$": "States.Array($.n, 'x', $.name)",
                        "part.$": "States.ArrayPartition($.xs, 2)",
                        "has.$": "States.ArrayContains($.xs, 3)",
                        "range.$": "States.ArrayRange(1, 9, 2)",
                        "item.$": "States.ArrayGetItem($.xs, 1)",
                        "len.$": "States.ArrayLength($.xs)",
                        "uniq.$": "States.ArrayUnique($.dups)",
                        "b64.$": "States.Base64Encode($.name)",
                        "unb64.$": "States.Base64Decode('aGVsbG8=')",
                        "hash.$": "States.Hash($.name, 'SHA-256')",
                        "merged.$": "States.JsonMerge($.o1, $.o2, false)",
                        "add.$": "States.MathAdd($.n, 10)",
                        "split.$": "States.StringSplit('a,b,,c', ',')",
                        "parsed.$": "States.StringToJson($.js)",
                    },
                },
            )
        ),
        {
            "name": "Ann",
            "n": 3,
            "xs": [1, 2, 3, 4, 5],
            "dups": [1, 1, 2],
            "o1": {"a": 1, "b": 1},
            "o2": {"b": 2},
            "js": '{"k": [1, 2]}',
        },
    ),
    "missing_parameters_path_is_runtime": (
        machine(("P", {"Type": "Pass", "Parameters": {"x.$": "$.nope"}, "End": True})),
        {"a": 1},
    ),
    "wait_zero_then_succeed": (
        machine(
            ("W", {"Type": "Wait", "Seconds": 0, "Next": "S"}),
            ("S", {"Type": "Succeed", "OutputPath": "$.a"}),
        ),
        {"a": [1]},
    ),
    "legacy_iterator_and_parameters": (
        machine(
            (
                "M",
                {
                    "Type": "Map",
                    "ItemsPath": "$.xs",
                    "Parameters": {"v.$": "$$.Map.Item.Value", "c.$": "$.c"},
                    "Iterator": machine(("P", {"Type": "Pass", "End": True})),
                    "End": True,
                },
            )
        ),
        {"xs": [{"a": 1}, {"a": 2}], "c": 0},
    ),
    # moto (jsonpath-ng) treats "$[0].v" as indefinite and returns [1]; AWS (Jayway) returns 1 for
    # that definite path, as ours does (test_paths.py) -- so this case uses "$[0]".
    "parallel_result_selector": (
        machine(
            (
                "Par",
                {
                    "Type": "Parallel",
                    "ResultSelector": {"first.$": "$[0]", "n.$": "States.ArrayLength($)"},
                    "Branches": [
                        machine(("A", {"Type": "Pass", "Result": {"v": 1}, "End": True})),
                        machine(("B", {"Type": "Pass", "Result": {"v": 2}, "End": True})),
                    ],
                    "End": True,
                },
            )
        ),
        {},
    ),
    "fail_error_path_cause_path": (
        machine(("F", {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"})),
        {"e": "Dyn", "c": "dyn cause"},
    ),
    "runtime_error_not_caught_by_states_all": (
        machine(
            (
                "Par",
                {
                    "Type": "Parallel",
                    "Branches": [
                        machine(("P", {"Type": "Pass", "InputPath": "$.nope", "End": True}))
                    ],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Y"}],
                    "End": True,
                },
            ),
            ("Y", PASS_END),
        ),
        {"a": 1},
    ),
    "output_path_missing_is_runtime": (
        machine(("P", {"Type": "Pass", "OutputPath": "$.nope", "End": True})),
        {"a": 1},
    ),
}


@pytest.fixture(scope="module")
def sfn():
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    requests.post(
        f"{url}/moto-api/config",
        json={"stepfunctions": {"execute_state_machine": True}},
        timeout=10,
    )
    client = boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    yield client
    requests.post(
        f"{url}/moto-api/config",
        json={"stepfunctions": {"execute_state_machine": False}},
        timeout=10,
    )
    server.stop()


@pytest.fixture(scope="module")
def moto_results(sfn) -> dict[str, dict[str, Any]]:
    """Run every case under moto concurrently; name -> DescribeExecution."""
    arns = {}
    for name, (definition, execution_input) in CASES.items():
        sm = sfn.create_state_machine(
            name=name,
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )
        arns[name] = sfn.start_execution(
            stateMachineArn=sm["stateMachineArn"], name="e", input=json.dumps(execution_input)
        )["executionArn"]
    results: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 30
    while len(results) < len(arns) and time.monotonic() < deadline:
        for name, arn in arns.items():
            if name not in results:
                desc = sfn.describe_execution(executionArn=arn)
                if desc["status"] != "RUNNING":
                    results[name] = desc
        time.sleep(0.05)
    return results


def outcome_ours(definition: dict[str, Any], execution_input: Any) -> tuple[str, Any]:
    result = Executor(definition, {}).run(execution_input, "e")
    return result.status, (result.output if result.status == "SUCCEEDED" else result.error)


def outcome_moto(desc: dict[str, Any]) -> tuple[str, Any]:
    if desc["status"] == "SUCCEEDED":
        return "SUCCEEDED", json.loads(desc["output"])
    return desc["status"], desc.get("error")


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_outcome_as_moto(name, moto_results):
    assert name in moto_results, f"moto did not finish {name}"
    definition, execution_input = CASES[name]
    assert outcome_ours(definition, execution_input) == outcome_moto(moto_results[name])


def test_fail_state_cause_matches_moto(moto_results):
    definition, execution_input = CASES["fail_state"]
    result = Executor(definition, {}).run(execution_input, "e")
    assert result.cause == moto_results["fail_state"]["cause"]
