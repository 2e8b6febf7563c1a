"""``wdl2sfn list|status|logs|stop|outputs`` for runs on AWS: what the local commands say about
a run folder, said from the APIs.

A run is named by its execution ARN or by its execution name (the run name ``run`` prints,
``<timestamp>_<workflow>``), found among the executions of the stack's machines
(``<stack>-<workflow>``). Every execution of a run (the parent, Map Run children, child machines'
executions) is found as ``--follow`` finds them; the counts are ``RunCounter``'s, as locally.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ...contract import machine_name
from . import (
    EXIT_USAGE,
    Aws,
    AwsBackendError,
    _aws_call,
    execution_arn,
    json_able,
    parse_json,
)
from .follow import LOG_GROUP, TERMINAL

LIST_MAX = 100  # executions per machine `list` shows (newest first)


@dataclass
class Run:
    """One run on AWS: its execution and what its histories hold."""

    aws: Aws
    arn: str
    description: dict[str, Any]
    executions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # arn -> events

    @property
    def name(self) -> str:
        return self.arn.rsplit(":", 1)[-1]

    @property
    def request(self) -> dict[str, Any]:
        parsed = json.loads(self.description.get("input") or "{}")
        return parsed if isinstance(parsed, dict) else {}

    def jobs(self) -> dict[str, str]:
        """Batch job id -> job name, from every TaskSubmitted of a ``batch`` task."""
        jobs: dict[str, str] = {}
        for events in self.executions.values():
            for event in events:
                details = event.get("taskSubmittedEventDetails") or {}
                if details.get("resourceType") != "batch":
                    continue
                output = parse_json(details.get("output"))
                if isinstance(output, dict) and output.get("JobId"):
                    jobs[str(output["JobId"])] = str(output.get("JobName", ""))
        return jobs


def find_run(aws: Aws, stack: str, run: str) -> Run:
    """An execution ARN, or an execution name looked up among ``<stack>-*`` machines."""
    sfn = aws.client("stepfunctions")
    candidates = [run] if run.startswith("arn:") else _arns_for_name(aws, stack, run)
    for arn in candidates:
        try:
            found = sfn.describe_execution(executionArn=arn)
        except Exception:
            continue
        return Run(aws, arn, dict(json_able(found)))
    raise AwsBackendError(
        f"{run}: no such execution in stack {stack!r} ({aws.region}); "
        "`wdl2sfn list --backend aws` shows the runs",
        error="RunNotFound",
        exit_code=EXIT_USAGE,
    )


def _arns_for_name(aws: Aws, stack: str, name: str) -> list[str]:
    """The run's execution ARN in each of the stack's machines, its workflow's first."""
    workflow = name.split("_", 2)[-1] if name.count("_") >= 2 else name
    wanted = f":stateMachine:{machine_name(stack, workflow)}"
    machines = sorted(stack_machines(aws, stack), key=lambda m: not m.endswith(wanted))
    return [execution_arn(m, name) for m in machines]


def stack_machines(aws: Aws, stack: str) -> list[str]:
    """The ARNs of the stack's workflow machines (``<stack>-*``)."""
    sfn = aws.client("stepfunctions")
    arns = []
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page.get("stateMachines", []):
            if str(machine["name"]).startswith(f"{stack}-"):
                arns.append(str(machine["stateMachineArn"]))
    return arns


def read_histories(run: Run) -> Run:
    """Every execution's events: the parent's, each Map Run child's, each child machine's, in
    the order they started (breadth first: a redriven run's new Map Run after the first, whose
    children's cache checks the counter must see first)."""
    from .failures import _pages

    sfn = run.aws.client("stepfunctions")
    todo = deque([run.arn])
    while todo:
        arn = todo.popleft()
        events = [json_able(e) for e in _pages(sfn.get_execution_history, "events",
                                               executionArn=arn)]  # fmt: skip
        run.executions[arn] = events
        for event in events:
            details = event.get("mapRunStartedEventDetails") or {}
            if details.get("mapRunArn"):
                children = _pages(sfn.list_executions, "executions",
                                  mapRunArn=details["mapRunArn"])  # fmt: skip
                todo.extend(str(c["executionArn"]) for c in children)
            submitted = event.get("taskSubmittedEventDetails") or {}
            output = parse_json(submitted.get("output"))
            if submitted.get("resourceType") == "states" and isinstance(output, dict):
                todo.extend([str(output["ExecutionArn"])] if output.get("ExecutionArn") else [])
    return run


# ---------------------------------------------------------------------------- commands


def list_runs(aws: Aws, stack: str) -> list[dict[str, Any]]:
    """Every machine's recent executions, oldest first (as the local `list`)."""
    sfn = aws.client("stepfunctions")
    runs = []
    for machine in stack_machines(aws, stack):
        page = _aws_call("ListExecutions", sfn.list_executions, stateMachineArn=machine,
                         maxResults=LIST_MAX)  # fmt: skip
        for execution in json_able(page.get("executions", [])):
            runs.append({
                "run": execution["name"],
                "workflow": machine.rsplit(":", 1)[-1][len(stack) + 1 :],
                "started": execution.get("startDate"),
                "status": execution["status"],
                "execution_arn": execution["executionArn"],
            })  # fmt: skip
    return sorted(runs, key=lambda r: str(r.get("started")))


def status(run: Run) -> dict[str, Any]:
    """The local `status` answer: status, per-call counts, scatters, the error if any."""
    from ...runs.counter import RunCounter

    read_histories(run)
    counter = RunCounter()
    for arn, events in run.executions.items():
        for event in events:
            counter.add(arn, event)
    if run.description["status"] in TERMINAL:
        counter.ended()
    out: dict[str, Any] = {
        "run": run.name,
        "execution_arn": run.arn,
        "status": run.description["status"],
        "started": run.description.get("startDate"),
        "stopped": run.description.get("stopDate"),
        "state_machine_arn": run.description.get("stateMachineArn"),
        "executions": len(run.executions),
    }
    for key, field_name in (("stateMachineVersionArn", "state_machine_version_arn"),
                            ("stateMachineAliasArn", "state_machine_alias_arn")):  # fmt: skip
        if run.description.get(key):
            out[field_name] = run.description[key]
    out["tasks"] = counter.totals().as_dict()
    out["calls"] = {name: c.as_dict() for name, c in counter.calls.items()}
    out["scatters"] = dict(counter.scatter_totals)
    out["history_events"] = sum(len(e) for e in run.executions.values())
    if run.description["status"] not in ("SUCCEEDED", "RUNNING"):
        from .failures import describe

        failure = describe(run.aws.client("stepfunctions"), run.description)
        out["error"] = failure.summary()
    return out


def log_text(run: Run) -> Iterator[str]:
    """Each Batch job's CloudWatch Logs stream, as the local `logs` prints each stderr.txt."""
    read_histories(run)
    jobs = run.jobs()
    if not jobs:
        return
    batch, logs = run.aws.client("batch"), run.aws.client("logs")
    ids = list(jobs)
    for start in range(0, len(ids), 100):
        found = _aws_call("DescribeJobs", batch.describe_jobs, jobs=ids[start : start + 100])
        for job in found.get("jobs", []):
            stream = (job.get("container") or {}).get("logStreamName")
            yield f"==> {job['jobName']} ({job['status']}): CloudWatch {LOG_GROUP} {stream} <==\n"
            if stream:
                for line in log_lines(logs, stream):
                    yield line + "\n"


def log_lines(logs: Any, stream: str) -> list[str]:
    """A stream's lines, oldest first (GetLogEvents until the forward token stops moving)."""
    lines: list[str] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamName": stream,
                                  "startFromHead": True}  # fmt: skip
        if token:
            kwargs["nextToken"] = token
        try:
            page = logs.get_log_events(**kwargs)
        except Exception:
            return lines
        lines += [str(e.get("message", "")) for e in page.get("events", [])]
        if not page.get("events") or page.get("nextForwardToken") == token:
            return lines
        token = page.get("nextForwardToken")


def stop(run: Run) -> dict[str, Any]:
    """TerminateJob for each of the run's Batch jobs not yet ended, then StopExecution (Step
    Functions also terminates the jobs of its aborted ``.sync`` tasks; this catches the rest)."""
    sfn, batch = run.aws.client("stepfunctions"), run.aws.client("batch")
    read_histories(run)
    terminated = []
    ids = list(run.jobs())
    for start in range(0, len(ids), 100):
        found = _aws_call("DescribeJobs", batch.describe_jobs, jobs=ids[start : start + 100])
        for job in found.get("jobs", []):
            if job["status"] in ("SUCCEEDED", "FAILED"):
                continue
            _aws_call("TerminateJob", batch.terminate_job, jobId=job["jobId"],
                      reason="stopped by wdl2sfn stop")  # fmt: skip
            terminated.append(job["jobName"])
    if run.description["status"] == "RUNNING":
        _aws_call("StopExecution", sfn.stop_execution, executionArn=run.arn,
                  error="wdl2sfn.Stopped", cause="stopped by wdl2sfn stop")  # fmt: skip
    described = json_able(sfn.describe_execution(executionArn=run.arn))
    return {"execution_arn": run.arn, "status": described["status"],
            "terminated_jobs": terminated}  # fmt: skip


def cost(run: Run) -> dict[str, Any]:
    """`cost RUN --backend aws`: wdl2sfn.cost from every execution's history, each Lambda
    step priced with its function's MemorySize (GetFunctionConfiguration)."""
    from ...runs.cost import measure, priced, stack_memory_mb

    read_histories(run)
    memory: dict[str, int] = {}

    def memory_mb(function: str) -> int:
        if function not in memory:
            try:
                found = run.aws.client("lambda").get_function_configuration(FunctionName=function)
                memory[function] = int(found["MemorySize"])
            except Exception:  # no access, or a function since deleted: the stack's sizes
                memory[function] = stack_memory_mb(function)
        return memory[function]

    return {"run": run.name, "execution_arn": run.arn, "status": run.description["status"],
            **priced(measure(run.executions.values()), memory_mb)}  # fmt: skip


def run_folder(run: Run) -> str:
    """The run's folder name: the name `run` asked for, else what the init step answered (an
    execution EventBridge started is named ``<workflow>_<execution>``)."""
    asked = (run.request.get("run") or {}).get("name")
    if asked:
        return str(asked)
    sfn = run.aws.client("stepfunctions")
    history = _aws_call("GetExecutionHistory", sfn.get_execution_history, executionArn=run.arn)
    for event in history.get("events", []):
        output = (event.get("stateExitedEventDetails") or {}).get("output")
        parsed = parse_json(output)  # init's output is {"ctx": {"run": ...}, "shard": []}
        ctx = parsed.get("ctx") if isinstance(parsed, dict) else None
        if isinstance(ctx, dict) and isinstance(ctx.get("run"), str):
            return str(ctx["run"])
    raise AwsBackendError(f"run {run.name} has no run folder yet (its init step did not finish)")


def outputs_prefix(run: Run, outputs: dict[str, str]) -> str:
    """Where the run's outputs and logs are in S3 (``--s3upload``, else the run bucket)."""
    from .outcome import s3_prefix

    return s3_prefix(run.request, outputs, run_folder(run))


def outputs(run: Run, prefix: str, dest: str | None) -> dict[str, Any]:
    """``{"dir", "outputs"}`` as `run --wait` printed it; with ``dest``, everything under the
    prefix downloaded to ``dest/<run>/`` and the outputs' S3 URIs rewritten to those files."""
    from .outcome import read_s3_json

    if run.description["status"] != "SUCCEEDED":
        raise AwsBackendError(
            f"run {run.name} is {run.description['status']}: it has no outputs "
            f"(`wdl2sfn status {run.name} --backend aws` says why)",
            error="NoOutputs",
        )
    doc = read_s3_json(run.aws, f"{prefix}/outputs.json")
    if dest is None:
        return {"dir": prefix, "outputs": doc}
    local = Path(dest).resolve() / prefix.rstrip("/").rsplit("/", 1)[-1]
    download(run.aws, prefix, local)
    return {"dir": str(local), "outputs": _localized(doc, prefix, local)}


def download(aws: Aws, prefix: str, folder: Path) -> list[str]:
    """Every object under ``prefix`` (``s3://bucket/key prefix``) to ``folder`` at its path
    below the prefix; the local paths."""
    got: list[str] = []
    parsed = urlparse(prefix)
    s3 = aws.client("s3")
    key_prefix = parsed.path.lstrip("/").rstrip("/") + "/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=parsed.netloc,
                                                              Prefix=key_prefix):  # fmt: skip
        for obj in page.get("Contents", []):
            target = folder / obj["Key"][len(key_prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            _aws_call(f"downloading s3://{parsed.netloc}/{obj['Key']}", s3.download_file,
                      Bucket=parsed.netloc, Key=obj["Key"], Filename=str(target))  # fmt: skip
            got.append(str(target))
    return got


def _localized(value: Any, prefix: str, folder: Path) -> Any:
    if isinstance(value, dict):
        return {k: _localized(v, prefix, folder) for k, v in value.items()}
    if isinstance(value, list):
        return [_localized(v, prefix, folder) for v in value]
    if isinstance(value, str) and value.startswith(prefix.rstrip("/") + "/"):
        return str(folder / value[len(prefix.rstrip("/")) + 1 :])
    return value
