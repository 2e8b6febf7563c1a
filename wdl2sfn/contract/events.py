"""The events the run-time steps receive, as TypedDicts.

The compiler writes these payloads into the ASL (``Parameters`` of each step's Task state), the
local executor and Lambda deliver them, ``task_runner`` reads them: three parts that never call
each other, so the shape lives here where all three can name it. Every key is optional
(``total=False``) because a state fills some of them from its input (``"run.$"``) and older
machines omit newer ones; the handlers check what they need.
"""

from __future__ import annotations

from typing import Any, TypedDict

#: The run-time steps, in the order a run meets them (``files`` is the CLI's own runner job).
STEPS = ("init", "prepare", "collect", "eval", "finalize", "upload", "files")


class WorkflowRef(TypedDict, total=False):
    """The compiled workflow an init step was deployed with: its bundle under ``_workflows/``."""

    name: str
    digest: str
    main: str
    check_quant: bool


class InitEvent(TypedDict, total=False):
    """init: the execution input (or, with FSx, the bucket key it was written to)."""

    input: dict[str, Any]
    input_key: str
    workflow: WorkflowRef
    execution: str
    queues: dict[str, str]


class CallEvent(TypedDict, total=False):
    """prepare, collect and eval: one node instance (`node` under `scope`, at `shard`)."""

    run: str
    node: str
    shard: list[int]
    scope: str
    queues: dict[str, str]
    step: dict[str, Any]  # collect on the shared failure path: prepare's step reference
    error: dict[str, Any]  # collect after a failed job: Batch's error and cause


class JoinEvent(TypedDict, total=False):
    """eval of an exact join (FSx): wait for `after`, or release `waiters`."""

    run: str
    node: str
    shard: list[int]
    scope: str
    join: str  # wait | release
    after: list[str]
    waiters: list[str]
    token: str


class FinalizeEvent(TypedDict, total=False):
    """finalize: the run's outputs; `runner` names the runner queue and job definition."""

    run: str
    runner: dict[str, str]


class UploadEvent(TypedDict, total=False):
    """upload: copy a finished run's outputs and logs to S3."""

    run: str


class FilesEvent(TypedDict, total=False):
    """files: a run folder's listing, and with `get_prefix` its files copied to the bucket."""

    run: str
    path: str
    recursive: bool
    get_prefix: str
