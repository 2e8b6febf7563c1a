"""The contract between wdl2sfn's parts: the names and shapes they must agree on.

The compiler, the run-time steps (``task_runner``), the backends, the CDK app (``cdk_app``) and
the rehearsal never call each other across a deploy, yet they must spell the same resource
placeholders, event keys, bucket prefixes, machine and alias names. Each of those lives here
once. This package imports nothing else of wdl2sfn, so anything may import it without a cycle.
"""

from __future__ import annotations

from .events import (
    STEPS,
    CallEvent,
    FilesEvent,
    FinalizeEvent,
    InitEvent,
    JoinEvent,
    UploadEvent,
    WorkflowRef,
)
from .jobs import (
    JOIN_TOKEN_PARAMETER,
    TASK_DEFAULT_ATTEMPTS,
    TASK_TIMEOUT_S,
    WAIT_JOB_NAME,
    WAIT_TIMEOUT_S,
)
from .keys import (
    ITEMS_PREFIX,
    MAP_RESULTS_PREFIX,
    SCRATCH_PREFIXES,
    SHARED_DIR,
    STEPS_PREFIX,
)
from .names import (
    ALIAS,
    BUNDLE_MARKER,
    MAX_MACHINE_NAME,
    STACK_TAG,
    bundle_marker,
    machine_name,
)
from .placeholders import (
    CHILD_PREFIX,
    COLLECT_FUNCTION,
    CPU_QUEUE,
    EVAL_FUNCTION,
    FINALIZE_FUNCTION,
    FUNCTION_STEPS,
    GPU_QUEUE,
    INIT_FUNCTION,
    PLACEHOLDERS,
    PREPARE_FUNCTION,
    QUEUE_KINDS,
    ROLE_OUTPUT,
    RUN_BUCKET,
    RUNNER_JOB_DEFINITION,
    RUNNER_QUEUE,
    SPOT_QUEUE,
    function_placeholder,
    queue_placeholder,
    ref,
)

__all__ = [
    "STACK_TAG",
    "JOIN_TOKEN_PARAMETER",
    "TASK_DEFAULT_ATTEMPTS",
    "TASK_TIMEOUT_S",
    "WAIT_JOB_NAME",
    "WAIT_TIMEOUT_S",
    "ALIAS",
    "BUNDLE_MARKER",
    "CHILD_PREFIX",
    "COLLECT_FUNCTION",
    "CPU_QUEUE",
    "EVAL_FUNCTION",
    "FINALIZE_FUNCTION",
    "FUNCTION_STEPS",
    "GPU_QUEUE",
    "INIT_FUNCTION",
    "ITEMS_PREFIX",
    "MAP_RESULTS_PREFIX",
    "MAX_MACHINE_NAME",
    "PLACEHOLDERS",
    "PREPARE_FUNCTION",
    "QUEUE_KINDS",
    "ROLE_OUTPUT",
    "RUN_BUCKET",
    "RUNNER_JOB_DEFINITION",
    "RUNNER_QUEUE",
    "SCRATCH_PREFIXES",
    "SHARED_DIR",
    "SPOT_QUEUE",
    "STEPS",
    "STEPS_PREFIX",
    "CallEvent",
    "FilesEvent",
    "FinalizeEvent",
    "InitEvent",
    "JoinEvent",
    "UploadEvent",
    "WorkflowRef",
    "bundle_marker",
    "function_placeholder",
    "machine_name",
    "queue_placeholder",
    "ref",
]
