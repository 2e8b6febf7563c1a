"""The state kinds the executor runs: every ASL state type and the function that runs it.

Why one explicit table: the transition loop (``execution.run_machine``) looks a state's runner up
in the mapping its executor holds, and ``executor.Executor`` binds this one. Before, each kind's
module added itself to a global registry when imported, so the executor had to import the kinds
for their side effects and the kinds imported the executor back: one import cycle of seven
modules. Here the kinds are plain functions and nothing runs at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .concurrent import run_parallel
from .execution import Runner
from .interpreter import run_choice, run_fail, run_pass, run_succeed, run_wait
from .map_state import run_map
from .tasks import run_task

#: ASL state type -> its runner
STATE_KINDS: Mapping[str, Runner] = MappingProxyType(
    {
        "Pass": run_pass,
        "Choice": run_choice,
        "Wait": run_wait,
        "Succeed": run_succeed,
        "Fail": run_fail,
        "Task": run_task,
        "Parallel": run_parallel,
        "Map": run_map,
    }
)
