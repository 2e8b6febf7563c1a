"""Batch facts the compiler, the run-time steps and the CDK stack must agree on.

The FSx join wait's bound and its token's place in the wait job (the stack's Batch FAILED rule
reads it from the job state change event), and a task job's default timeout.
"""

from __future__ import annotations

#: A task job's attempt timeout when ``runtime.timeout`` is unset (Batch attemptDurationSeconds).
TASK_TIMEOUT_S = 7 * 24 * 3600
#: Attempts of a task job at the defaults (on-demand: 1 + maxRetries, maxRetries 2 by default).
TASK_DEFAULT_ATTEMPTS = 3
#: TimeoutSeconds of an FSx join's wait: its token is answered when the units it waits for are
#: done, so it must outlast them; a task at the defaults runs at most its attempts times its
#: timeout. Past that the wait fails with States.Timeout instead of holding the run for a year.
WAIT_TIMEOUT_S = TASK_DEFAULT_ATTEMPTS * TASK_TIMEOUT_S
#: The SubmitJob ``parameters`` key holding an FSx wait job's task token: Batch's job state
#: change events carry the job's ``parameters``, so the stack's FAILED rule can answer it.
JOIN_TOKEN_PARAMETER = "wdl2sfnToken"
#: The job name of FSx join wait jobs (the FAILED rule matches it).
WAIT_JOB_NAME = "wdl2sfn-join"
