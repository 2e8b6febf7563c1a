"""A local AWS Batch: runs `batch:submitJob.sync` jobs as host subprocesses (or docker/podman).

Behaviour follows AWS Batch as documented, so that a local run exercises the same retry, timeout
and failure paths the state machine meets on AWS. One concern a module:

- local_batch.py: the job API (LocalBatch) and each job's life from SubmitJob to its end;
- submit.py: a SubmitJob request checked and turned into a job; definitions.py: job definitions;
- records.py: jobs' DescribeJobs descriptions and the table of jobs still describable;
- admission.py: an attempt waits until its VCPU / MEMORY / GPU fit in what is free;
- attempt.py and launch.py: one attempt's process, its environment, signals and end;
- retries.py: RetryStrategy (evaluateOnExit) and Timeout (attemptDurationSeconds);
- faults.py: fault injection (attempts that end like a reclaimed spot instance);
- api.py: the names, errors and key cases Step Functions shows.

The .sync result is the DescribeJobs job with Step Functions' PascalCase keys (JobId, Status,
StatusReason, Container.ExitCode, Container.LogStreamName, Attempts[].Container.ExitCode, ...);
a FAILED job raises TaskFailure("States.TaskFailed", <that description as JSON>), as Step
Functions reports it. API errors (unknown queue or job definition, invalid parameters) raise
TaskFailure("Batch.ClientException", ...), the name Step Functions gives a Batch API error.
Warnings (a job clamped to the machine, a GPU missing) are logged under this package's logger.
"""

from .admission import detect_gpus, detect_memory_mib
from .api import (
    ACCOUNT,
    ARN_PREFIX,
    DEFAULT_QUEUES,
    REASON_ABORTED,
    REASON_EXITED,
    REASON_SHUTDOWN,
    REASON_START_FAILED,
    REASON_TIMEOUT,
    REGION,
    RUNNER_IMAGE,
    RUNNER_JOB_DEFINITION,
    BatchClientError,
    task_failure,
    task_failure_class,
    to_camel_case,
    to_pascal_case,
)
from .faults import DEFAULT_HOST_TERMINATION, FAULTS_ENV, FaultPlan, FaultRule
from .launch import STEP_SECRETS, ContainerSetup
from .local_batch import LocalBatch
from .records import KEEP_FINISHED
from .retries import batch_pattern_matches, evaluate_on_exit

__all__ = [
    "ACCOUNT",
    "ARN_PREFIX",
    "DEFAULT_HOST_TERMINATION",
    "DEFAULT_QUEUES",
    "FAULTS_ENV",
    "KEEP_FINISHED",
    "REASON_ABORTED",
    "REASON_EXITED",
    "REASON_SHUTDOWN",
    "REASON_START_FAILED",
    "REASON_TIMEOUT",
    "REGION",
    "RUNNER_IMAGE",
    "RUNNER_JOB_DEFINITION",
    "STEP_SECRETS",
    "BatchClientError",
    "ContainerSetup",
    "FaultPlan",
    "FaultRule",
    "LocalBatch",
    "batch_pattern_matches",
    "detect_gpus",
    "detect_memory_mib",
    "evaluate_on_exit",
    "task_failure",
    "task_failure_class",
    "to_camel_case",
    "to_pascal_case",
]
