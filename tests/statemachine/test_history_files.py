"""Reading a history file: its first event alone (a call machine execution's input names its
call), its last from the end, each past lines a crash cut short."""

from __future__ import annotations

import json
from pathlib import Path

from wdl2sfn.statemachine.history import first_event, last_event, read_events


def _history(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "history.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_the_first_event_is_the_first_whole_line_as_read_events_sees_it(tmp_path: Path):
    started = {"type": "ExecutionStarted", "id": 1}
    path = _history(tmp_path, ['{"type": "Execu', json.dumps(started), '{"type": "X", "id": 2}'])
    assert first_event(path) == read_events(path)[0] == started
    assert last_event(path) == {"type": "X", "id": 2}


def test_a_missing_or_empty_history_has_no_first_event(tmp_path: Path):
    assert first_event(tmp_path / "none.jsonl") is None
    assert first_event(_history(tmp_path, [])) is None
