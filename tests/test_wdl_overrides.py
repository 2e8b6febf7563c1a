"""The adapter's named overrides of miniwdl 1.16, one behaviour each (docs/conformance.md,
"Overrides of miniwdl"): where miniwdl departs from the WDL specification text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import WDL

from wdl2sfn import wdl


def evaluate(source: str, tmp_path: Path, version: str = "1.2") -> WDL.Value.Base:
    """Evaluate one WDL expression with the adapter's standard library (files under tmp_path)."""
    return evaluate_with(source, tmp_path, {}, version)


def test_write_json_of_a_map_with_int_keys_fails_naming_the_type(tmp_path: Path):
    with pytest.raises(
        WDL.Error.EvalError, match=r"write_json: cannot serialize Map\[Int,String\]"
    ):
        evaluate('write_json((1, {2: "hello"}))', tmp_path)


def test_write_json_of_a_map_with_string_keys_writes_an_object(tmp_path: Path):
    written = evaluate('write_json({"a": [1, 2]})', tmp_path)
    assert json.loads(Path(written.value).read_text()) == {"a": [1, 2]}


def evaluate_with(
    source: str,
    tmp_path: Path,
    env: dict[str, tuple[WDL.Type.Base, WDL.Value.Base]],
    version: str = "1.2",
) -> WDL.Value.Base:
    """Evaluate one expression with the adapter's standard library and ``env``'s declarations."""
    stdlib = wdl.HookedStdLib(
        version,
        write_dir=str(tmp_path),
        devirtualize=lambda name: name,
        virtualize=lambda name: name,
        resolve_relative=lambda name: name,
        join_paths_dir=str(tmp_path),
    )
    values: WDL.Env.Bindings[WDL.Value.Base] = WDL.Env.Bindings()
    types: WDL.Env.Bindings[WDL.Type.Base] = WDL.Env.Bindings()
    for name, (type_, value) in env.items():
        values = values.bind(name, value)
        types = types.bind(name, type_)
    expr = WDL.parse_expr(source, version=version)
    expr.infer_type(types, stdlib)
    return expr.eval(values, stdlib)


FOO_NONE = {"foo": (WDL.Type.String(optional=True), WDL.Value.Null())}


def test_a_placeholder_whose_none_causes_an_error_is_empty_in_wdl_12(tmp_path: Path):
    """WDL 1.2 "Expression Placeholders": a None that causes an error empties the placeholder."""
    value = evaluate_with('"Foo is ~{select_first([foo])}"', tmp_path, FOO_NONE)
    assert value.value == "Foo is "


def test_a_placeholder_error_without_a_none_still_fails(tmp_path: Path):
    with pytest.raises(WDL.Error.EvalError, match="index"):
        evaluate_with(
            '"x ~{a[3]}"',
            tmp_path,
            {"a": (WDL.Type.Array(WDL.Type.Int()), WDL.Value.Array(WDL.Type.Int(), []))},
        )


def test_a_placeholder_whose_none_causes_an_error_still_fails_in_wdl_11(tmp_path: Path):
    """WDL 1.1 says only "evaluates to None": an error stays an error there, as in miniwdl."""
    with pytest.raises(WDL.Error.EvalError, match="select_first"):
        evaluate_with('"Foo is ~{select_first([foo])}"', tmp_path, FOO_NONE, "1.1")
