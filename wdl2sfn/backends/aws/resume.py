"""``wdl2sfn resume RUN --backend aws``: restart a failed run from where it failed.

Step Functions' RedriveExecution restarts a FAILED, TIMED_OUT or ABORTED Standard execution from
its failed states (a Distributed Map re-runs only its failed or unfinished children), within 14
days of its end, while its history stays under 25,000 events and it has been redriven fewer than
1,000 times. Where AWS allows it that is what resume does; the execution keeps its ARN and its
run name, so its run folder and outputs prefix stay the same. Where it does not (DescribeExecution's
``redriveStatus`` says NOT_REDRIVABLE with a ``redriveStatusReason``, one of the limits above, or
RedriveExecution refuses), resume says why and starts a new execution with the same inputs and
the call cache on: every call that finished is reused, only the failed ones run again.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from ..requests import ResumeRequest, RunOutcome
from . import (
    EXIT_USAGE,
    TERMINAL,
    Aws,
    AwsBackendError,
    _aws_call,
    _code,
    _note,
    json_able,
    stack_outputs,
)
from .outcome import outcome_of
from .run import console_url, detached, new_execution_name, wait_for
from .runs import Run, find_run
from .wait import Detached

REDRIVABLE = ("FAILED", "TIMED_OUT", "ABORTED")
REDRIVE_DAYS = 14
HISTORY_LIMIT = 25_000
REDRIVE_LIMIT = 1_000


def refusal(run: Run) -> str | None:
    """Why AWS would not redrive this execution (None: it would)."""
    described = run.description
    if described.get("redriveStatus") == "NOT_REDRIVABLE":
        return str(described.get("redriveStatusReason") or "Step Functions says NOT_REDRIVABLE")
    if int(described.get("redriveCount") or 0) >= REDRIVE_LIMIT:
        return f"it was redriven {REDRIVE_LIMIT} times already (the most AWS allows)"
    stopped = described.get("stopDate")
    if isinstance(stopped, str):
        ended = datetime.datetime.fromisoformat(stopped.replace("Z", "+00:00"))
        if datetime.datetime.now(datetime.UTC) - ended > datetime.timedelta(days=REDRIVE_DAYS):
            return f"it ended more than {REDRIVE_DAYS} days ago ({stopped})"
    sfn = run.aws.client("stepfunctions")
    page = sfn.get_execution_history(executionArn=run.arn, reverseOrder=True, maxResults=1)
    newest = page.get("events") or [{}]
    if int(newest[0].get("id", 0)) >= HISTORY_LIMIT - 1:
        return f"its history reached the {HISTORY_LIMIT:,}-event quota"
    return None


def redrive(run: Run) -> str | None:
    """RedriveExecution; the reason AWS refused, or None when it redrove."""
    from botocore.exceptions import ClientError

    sfn = run.aws.client("stepfunctions")
    try:
        sfn.redrive_execution(executionArn=run.arn, clientToken=str(uuid.uuid4()))
    except ClientError as exn:
        return f"RedriveExecution refused: {_code(exn)}: {exn.response['Error'].get('Message')}"
    except AttributeError:  # a botocore too old to know RedriveExecution
        return "this botocore has no RedriveExecution"
    return None


def start_again(run: Run) -> tuple[str, dict[str, Any]]:
    """A new execution of the same machine version and inputs, call cache on, under a new run
    name."""
    request = run.request
    machine = str(run.description["stateMachineArn"])
    workflow = machine.rsplit(":", 1)[-1].split("-", 1)[-1]
    name = new_execution_name(run.aws, machine, workflow)
    if isinstance(request.get("run"), dict):
        request["run"] = dict(request["run"], name=name, no_cache=False)
    sfn = run.aws.client("stepfunctions")
    target = str(run.description.get("stateMachineVersionArn") or machine)
    started = _aws_call("StartExecution", sfn.start_execution, stateMachineArn=target,
                        name=name, input=json.dumps(request))  # fmt: skip
    return str(started["executionArn"]), request


def resume(stack: str, region: str | None, request: ResumeRequest) -> RunOutcome:
    """``wdl2sfn resume RUN --backend aws [--wait|--follow]``."""
    aws = Aws(region)
    run = find_run(aws, stack, request.ref.run)
    status = run.description["status"]
    if status not in REDRIVABLE:
        raise AwsBackendError(
            f"run {run.name} is {status}: "
            + ("nothing to resume" if status in TERMINAL else "it is still running"),
            error="NotResumable",
            exit_code=EXIT_USAGE,
        )
    why = refusal(run) or redrive(run)
    if why is None:
        arn, execution_input, mode = run.arn, run.request, "redrive"
        _note(f"redriving {run.name} from its failed state")
    else:
        _note(f"cannot redrive {run.name}: {why}; starting a new execution that reuses the "
              "call cache")  # fmt: skip
        (arn, execution_input), mode = start_again(run), "new execution"
    assert aws.region is not None
    url = console_url(aws.region, arn)
    summary = {"execution_arn": arn, "resumed": run.arn, "mode": mode, "reason": why,
               "console_url": url}  # fmt: skip
    if not (request.wait or request.follow):
        return RunOutcome(summary)
    outputs = stack_outputs(aws, stack)
    try:
        description = wait_for(aws, arn, url, follow=request.follow, verbose=request.verbose)
    except Detached as exn:
        return detached(exn)
    return outcome_of(aws, json_able(description), execution_input, outputs, url)
