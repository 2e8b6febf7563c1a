"""Intrinsic functions: argument grammar and each function."""

from __future__ import annotations

import re

import pytest

from wdl2sfn.statemachine.errors import DefinitionError, StatesError
from wdl2sfn.statemachine.intrinsics import compile_intrinsic, parse_intrinsic

DATA = {
    "name": "Ann",
    "n": 3,
    "arr": [1, 2, 2, 3],
    "obj": {"a": 1},
    "s": "a,b;c",
    "json": '{"k": [1]}',
}
CTX = {"Execution": {"Name": "ex"}}


def ev(text: str, data=DATA):
    return compile_intrinsic(text)(data, lambda: CTX)


def test_format_with_literal_and_path():
    assert ev("States.Format('Hello, {}! n={}', $.name, $.n)") == "Hello, Ann! n=3"


def test_format_escaped_braces_and_quote():
    assert ev(r"States.Format('\{\} {} it\'s \\', $.name)") == "{} Ann it's \\"


def test_format_with_context_path():
    assert ev("States.Format('{}', $$.Execution.Name)") == "ex"


def test_format_argument_count_mismatch_is_intrinsic_failure():
    with pytest.raises(StatesError) as info:
        ev("States.Format('{} {}', $.name)")
    assert info.value.error == "States.IntrinsicFailure"


def test_string_with_comma_and_paren_is_one_argument():
    assert ev("States.Array('a, b)', $.n)") == ["a, b)", 3]


def test_nested_calls():
    assert ev("States.ArrayLength(States.ArrayUnique($.arr))") == 3


def test_string_to_json_and_back():
    assert ev("States.StringToJson($.json)") == {"k": [1]}
    assert ev("States.JsonToString($.obj)") == '{"a":1}'


def test_array_with_mixed_literals():
    assert ev("States.Array(1, 'two', true, null, 2.5)") == [1, "two", True, None, 2.5]


def test_array_partition():
    assert ev("States.ArrayPartition($.arr, 3)") == [[1, 2, 2], [3]]


def test_array_contains():
    assert ev("States.ArrayContains($.arr, 3)") is True
    assert ev("States.ArrayContains($.arr, 9)") is False


def test_array_range_inclusive_end():
    assert ev("States.ArrayRange(1, 9, 2)") == [1, 3, 5, 7, 9]


def test_array_range_over_1000_items_fails():
    with pytest.raises(StatesError):
        ev("States.ArrayRange(1, 2000, 1)")


def test_array_get_item_and_out_of_range():
    assert ev("States.ArrayGetItem($.arr, 3)") == 3
    with pytest.raises(StatesError) as info:
        ev("States.ArrayGetItem($.arr, 4)")
    assert info.value.error == "States.IntrinsicFailure"


def test_array_length():
    assert ev("States.ArrayLength($.arr)") == 4


def test_array_unique_keeps_first_occurrence_order():
    assert ev("States.ArrayUnique($.arr)") == [1, 2, 3]


def test_base64_roundtrip():
    assert ev("States.Base64Encode('Data to encode')") == "RGF0YSB0byBlbmNvZGU="
    assert ev("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')") == "Data to encode"


def test_hash_sha256():
    assert ev("States.Hash('input data', 'SHA-256')") == (
        "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"
    )


def test_hash_unknown_algorithm_fails():
    with pytest.raises(StatesError):
        ev("States.Hash('x', 'CRC32')")


def test_json_merge_shallow():
    data = {"a": {"x": 1, "y": {"z": 1}}, "b": {"y": {"w": 2}}}
    assert ev("States.JsonMerge($.a, $.b, false)", data) == {"x": 1, "y": {"w": 2}}


def test_json_merge_deep_is_rejected():
    with pytest.raises(StatesError):
        ev("States.JsonMerge($.obj, $.obj, true)")


def test_math_random_in_range_and_seeded():
    value = ev("States.MathRandom(1, 10)")
    assert 1 <= value < 10
    assert ev("States.MathRandom(1, 1000, 7)") == ev("States.MathRandom(1, 1000, 7)")


def test_math_add():
    assert ev("States.MathAdd($.n, -1)") == 2


def test_string_split_on_any_delimiter_char():
    assert ev("States.StringSplit($.s, ',;')") == ["a", "b", "c"]


def test_uuid_is_v4():
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", ev("States.UUID()")
    )


def test_unknown_function_is_a_definition_error():
    with pytest.raises(DefinitionError):
        parse_intrinsic("States.Nope(1)")


def test_open_escape_is_a_definition_error():
    with pytest.raises(DefinitionError):
        parse_intrinsic(r"States.Format('\n')")


def test_unterminated_string_is_a_definition_error():
    with pytest.raises(DefinitionError):
        parse_intrinsic("States.Format('abc)")


def test_intrinsic_failure_is_catchable(run):
    from .conftest import machine

    d = machine(
        (
            "P",
            {
                "Type": "Parallel",
                "Branches": [
                    machine(
                        (
                            "X",
                            {
                                "Type": "Pass",
                                "Parameters": {"v.$": "States.ArrayGetItem($.a, 5)"},
                                "End": True,
                            },
                        )
                    )
                ],
                "Catch": [{"ErrorEquals": ["States.IntrinsicFailure"], "Next": "C"}],
                "End": True,
            },
        ),
        ("C", {"Type": "Pass", "End": True}),
    )
    out = run(d, {"a": [1]}).output
    assert out["Error"] == "States.IntrinsicFailure"
