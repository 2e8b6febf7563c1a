"""Relays the task-token answers of local runner jobs to the executor.

A runner job on the local Batch is a host subprocess: it cannot reach the executor's token
registry, and there is no Step Functions endpoint to call SendTaskSuccess on. So it writes its
answer to `<run>/_callbacks/<token>.json` (`task_runner/answers.py`, `WDL2SFN_CALLBACKS=store`)
and this relay, a thread of the local backend, hands each one to the executor as SendTaskSuccess
or SendTaskFailure would, then removes the file.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ...task_runner.answers import CALLBACKS_DIR, read_answer_file, registry_answer
from ...task_runner.atomic import is_temp_name

POLL_SECONDS = 0.05


class AnswerRelay:
    """Polls one run's answer folder while the run lasts (a context manager)."""

    def __init__(self, run_dir: Path, tokens: Any) -> None:
        self.folder = run_dir / CALLBACKS_DIR
        self.answer = registry_answer(tokens)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="answer-relay")

    def __enter__(self) -> AnswerRelay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.relay_once()

    def relay_once(self) -> int:
        """Hand every complete answer file to the executor; returns how many."""
        if not self.folder.is_dir():
            return 0
        relayed = 0
        for path in sorted(self.folder.iterdir()):
            if is_temp_name(path.name):
                continue
            answer = read_answer_file(path)
            if answer is None:
                continue
            self._deliver(answer)
            path.unlink(missing_ok=True)
            relayed += 1
        return relayed

    def _deliver(self, answer: dict[str, Any]) -> None:
        token = str(answer.get("token"))
        if "error" in answer:
            self.answer(token, None, (str(answer["error"]), str(answer.get("cause"))))
        else:
            self.answer(token, answer.get("output"), None)
