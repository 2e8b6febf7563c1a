"""Fault injection: attempts that end like a reclaimed spot instance, so tests can exercise the
retry paths (evaluateOnExit on a host termination) without AWS."""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ....contract.settings import Settings, load_settings

FAULTS_ENV = Settings.variable("local_batch_faults")
DEFAULT_HOST_TERMINATION = "Host EC2 (instance i-0123456789abcdef0) terminated."


@dataclass(frozen=True)
class FaultRule:
    """Attempts of jobs whose JobName matches ``job`` (fnmatch glob) end like a reclaimed spot
    instance: StatusReason ``reason``, no exit code. ``attempts`` None means every attempt.
    ``after_seconds`` None: the command never starts; else it is killed after that many seconds."""

    job: str = "*"
    attempts: tuple[int, ...] | None = None
    reason: str = DEFAULT_HOST_TERMINATION
    after_seconds: float | None = None
    queue: str = "*"  # glob on the job queue's name, e.g. "wdl2sfn-spot"

    @classmethod
    def from_dict(cls, rule: Mapping[str, Any]) -> FaultRule:
        unknown = set(rule) - {"job", "attempts", "reason", "after_seconds", "queue"}
        if unknown:
            raise ValueError(f"fault rule {dict(rule)!r}: unknown keys {sorted(unknown)}")
        attempts = rule.get("attempts")
        if attempts is not None:
            if isinstance(attempts, int):
                attempts = [attempts]
            attempts = tuple(int(a) for a in attempts)
        after = rule.get("after_seconds")
        return cls(
            job=str(rule.get("job", "*")),
            attempts=attempts,
            reason=str(rule.get("reason", DEFAULT_HOST_TERMINATION)),
            after_seconds=None if after is None else float(after),
            queue=str(rule.get("queue", "*")),
        )

    def matches(self, job_name: str, attempt: int, queue: str = "") -> bool:
        if not fnmatch.fnmatchcase(job_name, self.job):
            return False
        if self.queue != "*" and not fnmatch.fnmatchcase(queue.rsplit("/", 1)[-1], self.queue):
            return False
        return self.attempts is None or attempt in self.attempts


class FaultPlan:
    """Fault injection for tests: ``FaultPlan([{"job": "call-a*", "attempts": [1], "reason":
    "Host EC2 (instance i-0abc) terminated."}])``. The first matching rule applies."""

    def __init__(self, rules: Iterable[Mapping[str, Any] | FaultRule] = ()) -> None:
        self.rules: tuple[FaultRule, ...] = tuple(
            r if isinstance(r, FaultRule) else FaultRule.from_dict(r) for r in rules
        )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, var: str = FAULTS_ENV
    ) -> FaultPlan | None:
        """The plan in env var WDL2SFN_LOCAL_BATCH_FAULTS (a JSON list of rules, or
        {"rules": [...]}), or None if it is unset or empty."""
        if var == FAULTS_ENV:
            text = (load_settings(environ).local_batch_faults or "").strip()
        else:
            text = (os.environ if environ is None else environ).get(var, "").strip()
        if not text:
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{var} is not valid JSON: {e}") from e
        if isinstance(data, dict):
            data = data.get("rules", [])
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ValueError(f"{var} must be a JSON list of rule objects")
        return cls(data)

    def match(self, job_name: str, attempt: int, queue: str = "") -> FaultRule | None:
        for rule in self.rules:
            if rule.matches(job_name, attempt, queue):
                return rule
        return None

    def __bool__(self) -> bool:
        return bool(self.rules)
