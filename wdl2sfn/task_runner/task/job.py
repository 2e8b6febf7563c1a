"""The Batch job a prepared call submits, and the bash script it runs."""

from __future__ import annotations

import os
import re
import shlex
import tempfile
from pathlib import Path
from typing import Any

from ...contract.settings import ATTEMPT_BASE
from .. import batch_params as bp
from .context import TaskContext


def build_job(ctx: TaskContext, call_dir: Path, runtime: dict[str, Any]) -> dict[str, Any]:
    """JOB: what the `run` state submits. ``overrides`` is SubmitJob's ContainerOverrides as
    Step Functions takes it (PascalCase); the retry strategy and timeout are the job
    definition's own (see ``job_definition``)."""
    environment = [{"Name": "TMPDIR", "Value": _scratch_base(ctx)}]
    if ctx.mount.get("scratch"):  # the instance's scratch volume, shared by its jobs
        environment.append({"Name": "WDL2SFN_SHARED_SCRATCH", "Value": "1"})
    environment += [{"Name": k, "Value": v} for k, v in sorted(runtime["env"].items())]
    retry = bp.retry_strategy(
        runtime["queue"], preemptible=runtime["preemptible"], max_retries=runtime["maxRetries"]
    )
    job = {
        "name": ctx.job_name,
        "queue": runtime["queue_arn"],
        "definition": job_definition(ctx, runtime, retry),
        "overrides": {
            "Command": [
                "bash",
                "-c",
                wrapper_script(
                    call_dir,
                    runtime["returnCodes"],
                    ctx.job_name,
                    record_attempt=bool(runtime.get("record_attempt")),
                ),
            ],
            "ResourceRequirements": bp.resource_requirements(
                runtime["cpu"], runtime["memory_mib"], runtime["gpus"]
            ),
            "Environment": environment,
        },
    }
    if runtime["queue"] == "spot":
        job["on_demand"] = on_demand_definitions(ctx, runtime)
    return job


def on_demand_definitions(ctx: TaskContext, runtime: dict[str, Any]) -> dict[str, str]:
    """The job definitions a spot job falls back to on demand (`recover`): after its host was
    lost (1 + maxRetries attempts), and after a failure of its own with retries left (one of them
    used on spot). Registered here because only prepare may register job definitions (its role
    alone has batch:RegisterJobDefinition and iam:PassRole)."""
    max_retries = int(runtime["maxRetries"])
    out = {
        "host_lost": job_definition(ctx, runtime, bp.retry_strategy("cpu", max_retries=max_retries))
    }
    if max_retries > 0:
        retry = bp.retry_strategy("cpu", max_retries=max_retries - 1)
        out["failed"] = job_definition(ctx, runtime, retry)
    return out


def job_definition(ctx: TaskContext, runtime: dict[str, Any], retry: dict[str, Any]) -> str:
    """The content-hashed job definition for the task's image, mount, `retry` and timeout."""
    return bp.ensure_job_definition(
        ctx.job_definitions,
        runtime["docker"],
        ctx.mount,
        retry=retry,
        timeout_s=int(runtime["timeout_s"]),
        registry=ctx.job_definition_registry,
    )


def _scratch_base(ctx: TaskContext) -> str:
    """Base of the job's TMPDIR: on AWS the instance's scratch volume when the stack has one (else
    the container's /tmp); locally the system temp directory, unless that lies inside the store
    (then /tmp)."""
    if ctx.mount:
        return str(ctx.mount.get("scratch") or "/tmp")
    base = os.path.realpath(tempfile.gettempdir())
    root = os.path.realpath(ctx.store_root)
    if base == root or base.startswith(root + os.sep):
        return "/tmp"
    return base


def wrapper_script(
    call_dir: Path,
    return_codes: str | int | list[int],
    job_name: str,
    *,
    record_attempt: bool = False,
) -> str:
    """The job's ``bash -c`` script.

    Runs ``bash ../command`` in a fresh ``<call_dir>/work`` with stdout to ``stdout.txt`` and
    stderr to ``stderr.txt`` (appended across attempts) -- and also to the job's own log
    (CloudWatch) when running under AWS Batch, unless WDL2SFN_NO_TEE says no one reads that log. It records the
    command's real exit status in ``<call_dir>/rc`` and exits 0 when ``returnCodes`` allows the
    status, else with the status (1 when a disallowed status is 0), so Batch retries only real
    failures. TMPDIR is the container's own scratch; when WDL2SFN_SHARED_SCRATCH says several
    jobs share it (a host volume), the job gets a subdirectory of its own.

    Every process costs milliseconds on a busy host, so the script spawns few: bash, mkdir, the
    command (plus tee, mkdir and rm only where needed: prepare leaves an empty work/ behind, so a
    first attempt needs neither). Needs bash, mkdir and rm.

    ``record_attempt`` (WDL 1.2 tasks): the attempt number, 0 first, is Batch's
    AWS_BATCH_JOB_ATTEMPT ("The first attempt is numbered 1", AWS Batch User Guide, "AWS Batch job
    environment variables") minus 1, plus WDL2SFN_ATTEMPT_BASE (the attempts a spot job made
    before `recover` resubmitted it on demand). The script runs ``command.<attempt>`` when
    prepare wrote one (the command reads ``task.attempt``) and records the number in ``attempt``
    for the outputs' ``task.attempt``. Shell arithmetic and tests only: no extra process.
    """
    d = shlex.quote(str(call_dir))
    allowed = _exit_by_return_codes(return_codes)
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", job_name)
    pick, command, record = _attempt_lines() if record_attempt else ("", "../command", "")
    return f"""set +e
cd {d} || exit 97
shopt -s nullglob dotglob
left=(work/*)
if [ ! -d work ] || [ -e rc ] || [ ${{#left[@]}} -gt 0 ]; then
  rm -rf rc work 2>/dev/null
  mkdir -p work
fi
shopt -u nullglob dotglob
t=
if [ -n "${{WDL2SFN_SHARED_SCRATCH:-}}" ]; then
  t="${{TMPDIR:-/tmp}}/wdl2sfn.{safe}.$$"
  mkdir -p "$t" 2>/dev/null && export TMPDIR="$t"
fi
cd work || exit 97
{pick}if [ -n "${{AWS_BATCH_JOB_ID:-}}" ] && [ -z "${{WDL2SFN_NO_TEE:-}}" ]; then
  {{ bash {command} 2>&1 >&3 3>&- | tee -a ../stderr.txt >&2 3>&-; rc=${{PIPESTATUS[0]}}; }} 3> ../stdout.txt
else
  bash {command} > ../stdout.txt 2>> ../stderr.txt
  rc=$?
fi
{record}printf '%s\\n' "$rc" > ../rc
if [ -n "$t" ]; then cd .. && rm -rf "$t" 2>/dev/null; fi
{allowed}
"""


def _exit_by_return_codes(return_codes: str | int | list[int]) -> str:
    """The script's last lines: exit 0 when ``returnCodes`` allows "$rc", else nonzero."""
    if return_codes == "*":
        return "exit 0"
    codes = return_codes if isinstance(return_codes, list) else [return_codes]
    pattern = "|".join(str(int(c)) for c in codes) if codes else "__none__"
    return f'case "$rc" in {pattern}) exit 0 ;; esac\n[ "$rc" -eq 0 ] && exit 1\nexit "$rc"'


def _attempt_lines() -> tuple[str, str, str]:
    """(lines that pick the attempt's command file, the command file, the line recording the
    attempt) for ``wrapper_script(record_attempt=True)``."""
    pick = (
        f"a=$(( ${{AWS_BATCH_JOB_ATTEMPT:-1}} - 1 + ${{{ATTEMPT_BASE}:-0}} ))\n"
        'c=../command\n[ -e "../command.$a" ] && c="../command.$a"\n'
    )
    return pick, '"$c"', "printf '%s\\n' \"$a\" > ../attempt\n"
