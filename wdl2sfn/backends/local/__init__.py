"""Local backend: a local AWS Batch (host subprocesses) and the binding of the state machine's
resource placeholders to local handlers. The ASL executor itself lives in wdl2sfn.statemachine."""

from wdl2sfn.backends.local.batch import FaultPlan, FaultRule, LocalBatch, task_failure_class
from wdl2sfn.backends.local.resources import (
    BATCH_SUBMIT_JOB_SYNC,
    LAMBDA_INVOKE,
    PLACEHOLDERS,
    batch_handler,
    lambda_handler,
    local_handlers,
    local_substitutions,
)

__all__ = [
    "BATCH_SUBMIT_JOB_SYNC",
    "LAMBDA_INVOKE",
    "PLACEHOLDERS",
    "FaultPlan",
    "FaultRule",
    "LocalBatch",
    "batch_handler",
    "lambda_handler",
    "local_handlers",
    "local_substitutions",
    "task_failure_class",
]
