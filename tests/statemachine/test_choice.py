"""Choice rules: every operator family, Path variants, boolean combinators, type tests, defaults."""

from __future__ import annotations

import pytest

from wdl2sfn.statemachine.choice import compile_rule
from wdl2sfn.statemachine.errors import StatesError

from .conftest import machine

DATA = {
    "s": "beta",
    "n": 5,
    "f": 2.5,
    "b": True,
    "t": "2024-01-02T03:04:05Z",
    "t2": "2024-01-02T04:04:05+01:00",
    "nil": None,
    "other_s": "beta",
    "other_n": 7,
    "pattern": "log-*.txt",
    "file": "log-2024.txt",
}


def check(rule):
    return compile_rule(rule)(DATA, lambda: {})


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("StringEquals", "beta", True),
        ("StringLessThan", "gamma", True),
        ("StringGreaterThan", "alpha", True),
        ("StringLessThanEquals", "beta", True),
        ("StringGreaterThanEquals", "zeta", False),
    ],
)
def test_string_comparisons(op, value, expected):
    assert check({"Variable": "$.s", op: value}) is expected


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("NumericEquals", 5, True),
        ("NumericLessThan", 6, True),
        ("NumericGreaterThan", 4.5, True),
        ("NumericLessThanEquals", 5, True),
        ("NumericGreaterThanEquals", 6, False),
    ],
)
def test_numeric_comparisons(op, value, expected):
    assert check({"Variable": "$.n", op: value}) is expected


def test_numeric_comparison_on_a_string_is_false():
    assert check({"Variable": "$.s", "NumericEquals": 5}) is False


def test_boolean_is_not_numeric():
    assert check({"Variable": "$.b", "NumericEquals": 1}) is False


def test_boolean_equals():
    assert check({"Variable": "$.b", "BooleanEquals": True}) is True


@pytest.mark.parametrize(
    ("op", "expected"),
    [("TimestampEquals", True), ("TimestampLessThan", False), ("TimestampGreaterThanEquals", True)],
)
def test_timestamp_comparisons_respect_offsets(op, expected):
    assert check({"Variable": "$.t", f"{op}Path": "$.t2"}) is expected


def test_path_variants_compare_two_fields():
    assert check({"Variable": "$.s", "StringEqualsPath": "$.other_s"}) is True
    assert check({"Variable": "$.n", "NumericLessThanPath": "$.other_n"}) is True
    assert check({"Variable": "$.b", "BooleanEqualsPath": "$.b"}) is True


def test_string_matches_wildcard():
    assert check({"Variable": "$.file", "StringMatches": "log-*.txt"}) is True
    assert check({"Variable": "$.file", "StringMatches": "log-*.csv"}) is False


def test_string_matches_escaped_star_is_literal():
    assert compile_rule({"Variable": "$.x", "StringMatches": r"a\*b"})({"x": "a*b"}, dict) is True
    assert compile_rule({"Variable": "$.x", "StringMatches": r"a\*b"})({"x": "axxb"}, dict) is False


def test_and_or_not():
    assert check(
        {
            "And": [
                {"Variable": "$.n", "NumericEquals": 5},
                {"Not": {"Variable": "$.s", "StringEquals": "x"}},
            ]
        }
    )
    assert check(
        {
            "Or": [
                {"Variable": "$.n", "NumericEquals": 0},
                {"Variable": "$.b", "BooleanEquals": True},
            ]
        }
    )


@pytest.mark.parametrize(
    ("var", "op", "expected"),
    [
        ("$.nil", "IsNull", True),
        ("$.n", "IsNull", False),
        ("$.f", "IsNumeric", True),
        ("$.b", "IsNumeric", False),
        ("$.s", "IsString", True),
        ("$.b", "IsBoolean", True),
        ("$.t", "IsTimestamp", True),
        ("$.s", "IsTimestamp", False),
        ("$.s", "IsPresent", True),
        ("$.missing", "IsPresent", False),
    ],
)
def test_type_tests(var, op, expected):
    assert check({"Variable": var, op: True}) is expected


def test_is_present_false_matches_a_missing_field():
    assert check({"Variable": "$.missing", "IsPresent": False}) is True


def test_missing_variable_is_states_runtime():
    with pytest.raises(StatesError) as info:
        check({"Variable": "$.missing", "StringEquals": "x"})
    assert info.value.error == "States.Runtime"


def test_choice_state_takes_first_matching_rule(run):
    d = machine(
        (
            "C",
            {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
                    {"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Mid"},
                ],
                "Default": "Small",
            },
        ),
        ("Big", {"Type": "Pass", "Result": "big", "End": True}),
        ("Mid", {"Type": "Pass", "Result": "mid", "End": True}),
        ("Small", {"Type": "Pass", "Result": "small", "End": True}),
    )
    assert run(d, {"n": 5}).output == "mid"
    assert run(d, {"n": 0}).output == "small"


def test_choice_without_match_or_default_fails_no_choice_matched(run):
    d = machine(
        (
            "C",
            {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "X"}]},
        ),
        ("X", {"Type": "Succeed"}),
    )
    result = run(d, {"n": 2})
    assert (result.status, result.error) == ("FAILED", "States.NoChoiceMatched")


def test_choice_applies_input_and_output_path(run):
    d = machine(
        (
            "C",
            {
                "Type": "Choice",
                "InputPath": "$.in",
                "OutputPath": "$.v",
                "Choices": [{"Variable": "$.v", "NumericEquals": 1, "Next": "X"}],
            },
        ),
        ("X", {"Type": "Succeed"}),
    )
    assert run(d, {"in": {"v": 1}}).output == 1
