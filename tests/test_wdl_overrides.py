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
    stdlib = wdl.HookedStdLib(
        version,
        write_dir=str(tmp_path),
        devirtualize=lambda name: name,
        virtualize=lambda name: name,
        resolve_relative=lambda name: name,
        join_paths_dir=str(tmp_path),
    )
    expr = WDL.parse_expr(source, version=version)
    expr.infer_type(WDL.Env.Bindings(), stdlib)
    return expr.eval(WDL.Env.Bindings(), stdlib)


def test_write_json_of_a_map_with_int_keys_fails_naming_the_type(tmp_path: Path):
    with pytest.raises(
        WDL.Error.EvalError, match=r"write_json: cannot serialize Map\[Int,String\]"
    ):
        evaluate('write_json((1, {2: "hello"}))', tmp_path)


def test_write_json_of_a_map_with_string_keys_writes_an_object(tmp_path: Path):
    written = evaluate('write_json({"a": [1, 2]})', tmp_path)
    assert json.loads(Path(written.value).read_text()) == {"a": [1, 2]}
