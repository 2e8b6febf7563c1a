"""The stack's machines: the call machine, which runs any call of any workflow, the start
machine (any run's init) and the finish machine (any run's outputs step and their upload).

A compiled workflow runs each call (each shard of it) as one ``states:startExecution.sync:2``
Task starting this machine (``${CallMachineArn}``), so the states every call repeats (prepare,
the cache check, the Batch job, collect, the failure step) are written once per stack, not
once per call (issue 25: bytes per call). Its input is the call's prepare event plus ``call``,
the calling state's name, which is how history readers give the child's generic state names
back their call (``call`` -> ``call align``, ``call: run`` -> ``call align: run``).
"""

from __future__ import annotations

#: The deployed machines' names after the stack's (``<stack>-wdl2sfn-call``): a WDL name has
#: no hyphen, so no workflow or child machine (``<stack>-<workflow>``) can take them.
CALL_MACHINE_NAME = "wdl2sfn-call"
FINISH_MACHINE_NAME = "wdl2sfn-finish"
START_MACHINE_NAME = "wdl2sfn-start"
#: The input key carrying the calling state's name (``$$.State.Name``).
CALL_NAME_KEY = "call"
#: The call machine's states, as named in it; ``CALL_PREFIX`` stands for the call's label.
CALL_PREFIX = "call"
CALL_CACHED = f"{CALL_PREFIX}: cached?"
CALL_RUN = f"{CALL_PREFIX}: run"
CALL_COLLECT = f"{CALL_PREFIX}: collect"
CALL_FAILED = "job failed"
CALL_DONE = "done"


def label_state(state: str, label: str | None) -> str:
    """A call machine state's name as the calling workflow would have named it (`label`, the
    call's; None: not a call machine execution's state, kept as it is)."""
    if label and (state == CALL_PREFIX or state.startswith(CALL_PREFIX + ":")):
        return label + state[len(CALL_PREFIX) :]
    return state
