"""JSONPath input/output processing rules (InputPath, Parameters, ResultSelector, ResultPath, OutputPath, $$)."""

from __future__ import annotations

import pytest

from wdl2sfn.statemachine.errors import DefinitionError, StatesError
from wdl2sfn.statemachine.paths import (
    PathNotFoundError,
    compile_path,
    set_at,
    simple_keys,
)
from wdl2sfn.statemachine.templates import compile_template

from .conftest import machine

DOC = {"a": {"b": [10, 20, {"c": "x"}]}, "d-e": 1, "list": [{"k": 1}, {"k": 2}]}


def test_simple_paths_are_parsed_without_jsonpath_ng():
    assert simple_keys("$.a.b[2].c") == ["a", "b", 2, "c"]
    assert simple_keys("$['d-e']") == ["d-e"]
    assert simple_keys("$.list[*].k") is None


def test_definite_path_returns_the_value():
    assert compile_path("$.a.b[2].c")(DOC) == "x"
    assert compile_path("$")(DOC) is DOC


def test_bracket_notation_field():
    assert compile_path("$['d-e']")(DOC) == 1


def test_negative_index_counts_from_the_end():
    assert compile_path("$.a.b[-1]")(DOC) == {"c": "x"}


def test_missing_definite_path_raises():
    with pytest.raises(PathNotFoundError):
        compile_path("$.a.zzz")(DOC)
    with pytest.raises(PathNotFoundError):
        compile_path("$.a.b[7]")(DOC)


def test_wildcard_path_returns_all_matches():
    assert compile_path("$.list[*].k")(DOC) == [1, 2]


def test_filter_expression_uses_jsonpath_ng_ext():
    assert compile_path("$.list[?(@.k > 1)]")(DOC) == [{"k": 2}]


def test_compiled_paths_are_cached():
    assert compile_path("$.list[*].k") is compile_path("$.list[*].k")


def test_template_evaluates_dollar_keys_and_keeps_others():
    tpl = compile_template(
        {"x.$": "$.a.b[0]", "y": {"z.$": "$$.Execution.Name"}, "w": [1, {"v.$": "$.d-e"}]}
    )
    assert tpl(DOC, lambda: {"Execution": {"Name": "n"}}) == {
        "x": 10,
        "y": {"z": "n"},
        "w": [1, {"v": 1}],
    }


def test_template_missing_path_is_states_runtime_with_aws_wording():
    tpl = compile_template({"x.$": "$.nope"})
    with pytest.raises(StatesError) as info:
        tpl({"a": 1}, lambda: {})
    assert info.value.error == "States.Runtime"
    assert (
        "The JSONPath '$.nope' specified for the field 'x.$' could not be found in the input"
        in info.value.cause
    )


def test_template_value_that_is_not_a_path_is_a_definition_error():
    with pytest.raises(DefinitionError):
        compile_template({"x.$": "nope"})


def test_set_at_creates_intermediate_objects_without_mutating_input():
    data = {"a": {"keep": 1}}
    out = set_at(data, ("a", "b", "c"), 5, "$.a.b.c")
    assert out == {"a": {"keep": 1, "b": {"c": 5}}}
    assert data == {"a": {"keep": 1}}


def test_result_path_into_non_object_is_result_path_match_failure():
    with pytest.raises(StatesError) as info:
        set_at({"a": "str"}, ("a", "b"), 1, "$.a.b")
    assert info.value.error == "States.ResultPathMatchFailure"


def test_input_path_selects_the_effective_input(run):
    d = machine(("P", {"Type": "Pass", "InputPath": "$.a", "End": True}))
    assert run(d, {"a": {"x": 1}, "b": 2}).output == {"x": 1}


def test_input_path_null_gives_empty_object(run):
    d = machine(("P", {"Type": "Pass", "InputPath": None, "End": True}))
    assert run(d, {"a": 1}).output == {}


def test_input_path_missing_fails_with_states_runtime(run):
    d = machine(("P", {"Type": "Pass", "InputPath": "$.zz", "End": True}))
    result = run(d, {"a": 1})
    assert result.status == "FAILED" and result.error == "States.Runtime"
    assert "Invalid path '$.zz' : No results for path: $['zz']" in result.cause
    assert result.cause.startswith(
        "An error occurred while executing the state 'P' (entered at the event id #2)."
    )


def test_parameters_missing_path_fails_the_execution(run):
    d = machine(("P", {"Type": "Pass", "Parameters": {"v.$": "$.nope"}, "End": True}))
    result = run(d, {})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


def test_result_path_merges_into_raw_input(run):
    d = machine(
        ("P", {"Type": "Pass", "InputPath": "$.a", "Result": 7, "ResultPath": "$.r", "End": True})
    )
    assert run(d, {"a": {"x": 1}}).output == {"a": {"x": 1}, "r": 7}


def test_result_path_null_discards_the_result(run):
    d = machine(("P", {"Type": "Pass", "Result": 7, "ResultPath": None, "End": True}))
    assert run(d, {"a": 1}).output == {"a": 1}


def test_output_path_selects_from_the_merged_output(run):
    d = machine(
        (
            "P",
            {
                "Type": "Pass",
                "Result": {"y": 2},
                "ResultPath": "$.r",
                "OutputPath": "$.r.y",
                "End": True,
            },
        )
    )
    assert run(d, {"a": 1}).output == 2


def test_output_path_null_gives_empty_object(run):
    d = machine(("P", {"Type": "Pass", "OutputPath": None, "End": True}))
    assert run(d, {"a": 1}).output == {}


def test_context_object_in_parameters(run):
    d = machine(
        (
            "P",
            {
                "Type": "Pass",
                "Parameters": {
                    "name.$": "$$.Execution.Name",
                    "state.$": "$$.State.Name",
                    "in.$": "$$.Execution.Input.a",
                },
                "End": True,
            },
        )
    )
    out = run(d, {"a": 5}).output
    assert out["state"] == "P" and out["in"] == 5 and out["name"].startswith("exec")


def test_result_selector_applies_to_the_raw_task_result(run):
    d = machine(
        (
            "T",
            {
                "Type": "Task",
                "Resource": "r",
                "ResultSelector": {"v.$": "$.value"},
                "ResultPath": "$.res",
                "End": True,
            },
        )
    )
    out = run(d, {"in": 1}, {"r": lambda call: {"value": 3, "noise": 4}}).output
    assert out == {"in": 1, "res": {"v": 3}}
