"""Helpers for the executor tests: tiny definitions, runs with history, event access."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wdl2sfn.statemachine.executor import ExecutionResult, Executor


def machine(*states: tuple[str, dict[str, Any]], **top: Any) -> dict[str, Any]:
    """A definition from (name, state) pairs; the first is StartAt."""
    return {"StartAt": states[0][0], "States": dict(states), **top}


def events_of(result: ExecutionResult) -> list[dict[str, Any]]:
    """The events of a finished execution, read back from its history.jsonl."""
    assert result.history_path is not None
    return [json.loads(line) for line in Path(result.history_path).read_text().splitlines()]


def types_of(result: ExecutionResult) -> list[str]:
    return [e["type"] for e in events_of(result)]


@pytest.fixture
def run(tmp_path: Path):
    """run(definition, input, handlers=None, **executor kwargs) -> ExecutionResult, with history."""
    counter = [0]

    def _run(
        definition: Any, execution_input: Any = None, handlers: Any = None, **kwargs: Any
    ) -> ExecutionResult:
        counter[0] += 1
        kwargs.setdefault("history_dir", tmp_path / f"run{counter[0]}")
        executor = Executor(definition, handlers or {}, **kwargs)
        return executor.run({} if execution_input is None else execution_input, f"exec{counter[0]}")

    return _run
