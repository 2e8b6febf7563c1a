"""The local ASL executor: runs any Amazon States Language definition as AWS Step Functions
would, with the AWS quotas enforced (DESIGN invariant 3).

Usage::

    executor = Executor(definition, {"arn:aws:states:::lambda:invoke": handler},
                        substitutions={"PrepareFunctionArn": "arn:aws:lambda:..."},
                        history_dir=run_dir, object_store=FolderObjectStore(root))
    result = executor.run({"inputs": {...}}, name="run-1")   # or .start(...) -> Execution

History layout under ``history_dir``::

    history.jsonl                                   this execution's events (GetExecutionHistory shape)
    map_runs/<map state>/<child name>/history.jsonl a Distributed Map child execution
    executions/<name>/history.jsonl                 a states:startExecution child execution

(children nest the same layout under their own folder). Module map: ``model`` compiles the
definition; ``execution`` runs executions (the transition loop, scopes); ``kinds`` maps each
state type to its runner: ``interpreter`` (Pass, Choice, Wait, Succeed, Fail and what every
state shares), ``tasks`` (with ``callbacks``, ``handler_calls``), ``concurrent`` (Parallel, inline
Map), ``map_state`` and ``distributed`` (Distributed Map); ``paths``, ``templates``,
``intrinsics``, ``choice`` evaluate; ``history``, ``quotas``, ``tokens`` keep the books. This
module is the public API: the one place that binds the kinds to an executor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from .errors import DefinitionError, TaskFailure
from .execution import BaseExecutor, Execution, Runner, load_definition, substitute
from .kinds import STATE_KINDS
from .quotas import Quotas
from .runtime import ExecutionResult, ResourceHandler, TaskCall
from .store import FolderObjectStore, ObjectStore

__all__ = [
    "DefinitionError",
    "Execution",
    "ExecutionResult",
    "Executor",
    "FolderObjectStore",
    "ObjectStore",
    "Quotas",
    "ResourceHandler",
    "TaskCall",
    "TaskFailure",
    "load_definition",
    "substitute",
]


class Executor(BaseExecutor):
    """The executor with every state kind AWS Step Functions runs here (``kinds.STATE_KINDS``)."""

    default_kinds: ClassVar[Mapping[str, Runner]] = STATE_KINDS
