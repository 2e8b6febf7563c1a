"""The stack's machines (contract/calls.py), each written once per stack instead of once per
call or per workflow: the call machine, the start machine and the finish machine.

The call machine runs one call (one shard of it):

    call (prepare) -> call: cached? -> call: run (Batch job) -> call: collect (the end)
                                \\-> done (a cache hit)       \\-> job failed -> call: run

Its input is the call's prepare event (``run``, ``node``, ``shard``, and ``scope`` or
``waiters`` when the call has them) plus the calling state's name; prepare reads it whole, and
echoes it back as the job's ``step``, which collect and the failure step read. A failed job
goes to ``job failed`` (the Collect function with the error): it raises the task's error,
which fails this execution and so the calling Task, or hands back an on-demand job after spot
interruptions, which runs through ``call: run`` again. The workflow's Task sees only success
or the child's failure, as for any ``states:startExecution.sync:2`` child.

The start machine runs a workflow's init, given init's event (``input``, the execution's own
input; ``execution``, its name; ``workflow``), and ends with ``{"run"}``.

The finish machine runs a workflow's end, given ``{"run"}``: outputs (finalize) -> upload? ->
upload outputs (the --s3upload job) -> done; the workflow keeps ``final.dir`` of its output.
"""

from __future__ import annotations

from typing import Any

from ..contract import (
    CALL_CACHED,
    CALL_COLLECT,
    CALL_DONE,
    CALL_FAILED,
    CALL_MACHINE,
    CALL_PREFIX,
    CALL_RUN,
    FINISH_MACHINE,
    START_MACHINE,
)
from . import asl, ir
from .emit import Emitter


def call_machine(filesystem: str = "efs") -> dict[str, Any]:
    """The call machine's definition for a stack of this file system (efs | fsx)."""
    emitter = _emitter("call", filesystem)
    g = asl.Graph()
    done = g.add(CALL_DONE, asl.succeed())  # a cache hit's output: the input and `cached`
    failed = {"step.$": "$.prep.job.step", "error.$": "$.error"}
    emitter.step(g, CALL_FAILED, "collect", failed, {"job.$": "$.Payload.job"}, "$.prep", CALL_RUN)
    job = asl.batch_job_task("$.prep.job", result_path=None)
    job["Catch"] = [
        {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": CALL_FAILED}
    ]
    g.add(CALL_RUN, asl.link(job, CALL_COLLECT))
    # the end (no Succeed after it: one transition less per call); it outputs nothing, so no
    # job description reaches the caller's history
    emitter.step(g, CALL_COLLECT, "collect", "$.prep.job.step", None, None, None)
    g.add(CALL_CACHED, asl.choice_bool("$.prep.job.cached", done, CALL_RUN))
    prepare = {"job.$": "$.Payload"}
    g.start = emitter.step(g, CALL_PREFIX, "prepare", "$", prepare, "$.prep", CALL_CACHED)
    comment = "wdl2sfn: one call of a workflow (its calling Task names it)"
    return {"Comment": comment, **g.to_json()}


def finish_machine(filesystem: str = "efs") -> dict[str, Any]:
    """The finish machine's definition for a stack of this file system (efs | fsx)."""
    emitter = _emitter("finish", filesystem)
    g = asl.Graph()
    g.start = emitter.finish_states(g)
    return {"Comment": "wdl2sfn: a workflow's outputs and their upload", **g.to_json()}


def start_machine(filesystem: str = "efs") -> dict[str, Any]:
    """The start machine's definition for a stack of this file system (efs | fsx)."""
    emitter = _emitter("start", filesystem)
    g = asl.Graph()
    g.start = emitter.start_states(g)
    return {"Comment": "wdl2sfn: a run's init", **g.to_json()}


def _emitter(name: str, filesystem: str) -> Emitter:
    """An emitter of run-time steps for one of the stack's machines (no plan of its own)."""
    return Emitter(ir.Plan(name=name, root=ir.Seq([]), options=ir.Options(filesystem)))


def stack_machines(filesystem: str = "efs") -> dict[str, dict[str, Any]]:
    """Every machine of a stack of this file system, by the placeholder naming it."""
    return {
        START_MACHINE: start_machine(filesystem),
        CALL_MACHINE: call_machine(filesystem),
        FINISH_MACHINE: finish_machine(filesystem),
    }
