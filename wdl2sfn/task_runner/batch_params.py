"""Runtime attributes -> AWS Batch job parameters. Pure functions (no I/O) except
``ensure_job_definition``, which talks to the Batch API object it is given.

Choices (see also docs/design.md):

- VCPU: ``ceil(cpu)``, at least 1, as miniwdl rounds ``runtime.cpu``; default 1 (WDL 1.1 spec).
  Written as an integer string ("2", never "2.0"): Batch rejects fractional vCPUs on EC2.
- MEMORY (MiB): ``runtime.memory`` parsed as miniwdl parses it (``"4G"`` = 4e9 bytes, ``"4 GiB"``
  = 4 Ki MiB, a plain Int or number string is bytes), rounded *up* to whole MiB, at least
  ``MIN_MEMORY_MIB`` = 4 MiB, AWS Batch's documented minimum for a container job. Default 2048 MiB
  (the WDL 1.1 spec's default of "2 GiB").
- GPU: ``acceleratorCount`` (default 1) GPUs when ``gpu: true`` or ``acceleratorType`` names an
  NVIDIA device; ``gpu`` given as an Int > 0 is also taken as the count.
- Queue: GPU tasks -> gpu queue; ``preemptible > 0`` -> spot queue; else the on-demand cpu queue.
  ``runtime.queue`` / ``hints.queue`` ("cpu" | "spot" | "gpu", or a full job-queue ARN) overrides.
- RetryStrategy: on-demand ``Attempts = min(10, 1 + maxRetries)`` retrying any failure (host
  terminations explicitly); spot ``Attempts = min(10, preemptible)`` retrying only host/spot
  terminations (``StatusReason`` "Host EC2*") and exiting on anything else. After the spot
  attempts run out, ``recover_task`` resubmits on demand (``Attempts = min(10, 1 + maxRetries)``).
- Timeout: ``runtime.timeout`` (Int seconds or "90s"/"30m"/"2h"/"7d"), default 7 days, at least 60 s
  (Batch's minimum ``attemptDurationSeconds``).
- RetryStrategy and Timeout live in the job definition (Batch applies a definition's own when
  SubmitJob gives none), so the compiled `run` state names neither: the definition is
  content-hashed over image, mount, retry strategy and timeout, registered once per combination.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import weakref
from pathlib import Path
from typing import Any

from ..contract import TASK_TIMEOUT_S
from ..wdl import parse_byte_size
from .registry import register_once

DEFAULT_CPU = 1
DEFAULT_MEMORY_MIB = 2048
MIN_MEMORY_MIB = 4
DEFAULT_TIMEOUT_S = TASK_TIMEOUT_S
MIN_TIMEOUT_S = 60
MAX_ATTEMPTS = 10
MIB = 1024 * 1024
HOST_TERMINATION = "Host EC2*"
QUEUE_KINDS = ("cpu", "spot", "gpu")

__all__ = [
    "vcpus",
    "memory_mib",
    "gpu_count",
    "disk_bytes",
    "select_queue",
    "retry_strategy",
    "timeout_seconds",
    "resource_requirements",
    "returncode_allowed",
    "parse_return_codes",
    "job_definition_body",
    "registered_retry",
    "job_definition_name",
    "ensure_job_definition",
    "is_host_termination",
]


class BatchParamError(ValueError):
    """An unusable runtime setting (the caller turns it into WdlRuntimeError)."""


def vcpus(cpu: int | float | str | None) -> int:
    """Whole vCPUs for ``runtime.cpu``: ceil, at least 1; default 1."""
    if cpu is None:
        return DEFAULT_CPU
    try:
        value = float(cpu)
    except (TypeError, ValueError):
        raise BatchParamError(f"invalid runtime.cpu: {cpu!r}") from None
    if not math.isfinite(value):
        raise BatchParamError(f"invalid runtime.cpu: {cpu!r}")
    return max(1, math.ceil(value))


def memory_mib(memory: int | float | str | None) -> int:
    """MiB for ``runtime.memory``: miniwdl's parsing, rounded up, at least 4 MiB; default 2048."""
    if memory is None:
        return DEFAULT_MEMORY_MIB
    if isinstance(memory, bool):
        raise BatchParamError(f"invalid runtime.memory: {memory!r}")
    if isinstance(memory, int | float):
        nbytes = int(memory)
    else:
        try:
            nbytes = parse_byte_size(str(memory))
        except ValueError:
            raise BatchParamError(f"invalid runtime.memory: {memory!r}") from None
    if nbytes < 0:
        raise BatchParamError(f"invalid runtime.memory: {memory!r}")
    return max(MIN_MEMORY_MIB, math.ceil(nbytes / MIB))


#: WDL 1.2 `disks` default ("Default value: `1 GiB`") and the key of a disk given without a
#: mount point: "assumed to be a persistent volume mounted at the root of the execution
#: directory" -- the job's own root file system, where its working directory lives.
DEFAULT_DISK_BYTES = 1024 * MIB
ROOT_DISK = "/"


def disk_bytes(disks: int | str | list[Any] | None) -> dict[str, int]:
    """WDL 1.2 ``task.disks``: mount point -> bytes requested, from ``requirements.disks``
    (spec "disks": an Int of GiB; "<size>", "<size> <units>", "<mount-point> <size>",
    "<mount-point> <size> <units>"; or an array of those, at most one without a mount point).
    No `disks` gives the default 1 GiB at the execution root. Batch jobs get no extra volumes,
    so this is what was asked, which the spec allows when the actual value is not known."""
    if disks is None:
        return {ROOT_DISK: DEFAULT_DISK_BYTES}
    specs = disks if isinstance(disks, list) else [disks]
    ans: dict[str, int] = {}
    for spec in specs:
        mount, size = _disk_spec(spec, disks)
        if mount in ans:
            what = "mount point" if mount != ROOT_DISK else "disk without a mount point"
            raise BatchParamError(f"invalid requirements.disks: {disks!r}: more than one {what}")
        ans[mount] = size
    return ans


def _disk_spec(spec: Any, whole: Any) -> tuple[str, int]:
    """(mount point, bytes) of one disk specification (sizes without units are GiB)."""
    bad = BatchParamError(f"invalid requirements.disks: {whole!r}")
    if isinstance(spec, bool) or not isinstance(spec, int | str):
        raise bad
    words = str(spec).split()
    mount = ROOT_DISK
    if words and words[0].startswith("/"):
        mount = words.pop(0)
    elif len(words) == 3 and words[0] == "local-disk" and words[2] in ("HDD", "SSD", "LOCAL"):
        words = words[1:2]  # Cromwell's "local-disk <GiB> <type>", common in ported workflows
    if len(words) not in (1, 2):
        raise bad
    try:
        size = float(words[0])
        if len(words) == 1:
            nbytes = int(size * 1024 * MIB)
        else:
            nbytes = parse_byte_size(f"{words[0]} {words[1]}")
    except ValueError:
        raise bad from None
    if size <= 0 or not math.isfinite(size):
        raise bad
    return mount, nbytes


def gpu_count(
    gpu: bool | int | None = None,
    accelerator_count: int | None = None,
    accelerator_type: str | None = None,
) -> int:
    """GPUs to reserve: ``acceleratorCount`` (default 1) for a GPU task, else 0."""
    wants_gpu = False
    count = accelerator_count
    if isinstance(gpu, bool):
        wants_gpu = gpu
    elif isinstance(gpu, int) and gpu > 0:
        wants_gpu = True
        count = count if count is not None else gpu
    if accelerator_type and "nvidia" in accelerator_type.lower():
        wants_gpu = True
    if not wants_gpu:
        return 0
    if count is None:
        return 1
    if count < 1:
        raise BatchParamError(f"invalid runtime.acceleratorCount: {count!r}")
    return int(count)


def select_queue(
    queues: dict[str, str], *, gpus: int, preemptible: int, override: str | None = None
) -> tuple[str, str]:
    """``(kind, arn)``: the queue a job goes to. ``kind`` is "cpu", "spot", "gpu" or "custom"."""
    if override:
        if override in QUEUE_KINDS:
            return override, _queue_arn(queues, override)
        if override.startswith("arn:"):
            for kind in QUEUE_KINDS:
                if queues.get(kind) == override:
                    return kind, override
            return "custom", override
        raise BatchParamError(
            f"invalid queue {override!r}: expected cpu, spot, gpu or a job queue ARN"
        )
    if gpus > 0:
        return "gpu", _queue_arn(queues, "gpu")
    if preemptible > 0:
        return "spot", _queue_arn(queues, "spot")
    return "cpu", _queue_arn(queues, "cpu")


def check_queue_limits(
    limits: dict[str, dict[str, int]] | None, kind: str, *, cpu: float, gpus: int
) -> None:
    """Refuse what queue ``kind``'s compute environment can never run: more vCPUs than its max
    vCPUs (Batch: ``MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE``), more GPUs than any of
    its instance types has. ``limits`` None (a local run, a custom queue): nothing to check."""
    limit = (limits or {}).get(kind)
    if not limit:
        return
    max_vcpus, max_gpus = limit.get("max_vcpus"), limit.get("max_gpus")
    if max_vcpus is not None and cpu > max_vcpus:
        raise BatchParamError(
            f"runtime.cpu needs {cpu:g} vCPUs but the stack's {kind} queue's compute environment "
            f"allows at most {max_vcpus} (maxvCpus): the job would stay RUNNABLE"
        )
    if max_gpus is not None and gpus > max_gpus:
        raise BatchParamError(
            f"runtime needs {gpus} GPUs but the stack's {kind} queue's instance types have at most "
            f"{max_gpus}: the job would stay RUNNABLE"
        )


def _queue_arn(queues: dict[str, str], kind: str) -> str:
    arn = queues.get(kind)
    if not arn:
        raise BatchParamError(
            f"no {kind} job queue configured: the stack's functions give it (WDL2SFN_QUEUES) "
            "since this wdl2sfn version; update the stack (cd cdk_app && cdk deploy) before "
            "deploying workflows compiled by it"
        )
    return arn


def retry_strategy(kind: str, *, preemptible: int = 0, max_retries: int = 0) -> dict[str, Any]:
    """Batch RetryStrategy (PascalCase, as the Step Functions SubmitJob parameters take it)."""
    if kind == "spot":
        return {
            "Attempts": max(1, min(MAX_ATTEMPTS, preemptible)),
            "EvaluateOnExit": [
                {"OnStatusReason": HOST_TERMINATION, "Action": "RETRY"},
                {"OnReason": "*", "Action": "EXIT"},
            ],
        }
    return {
        "Attempts": max(1, min(MAX_ATTEMPTS, 1 + max(0, max_retries))),
        # unmatched failures are retried too (Batch's rule); host terminations explicitly
        "EvaluateOnExit": [{"OnStatusReason": HOST_TERMINATION, "Action": "RETRY"}],
    }


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def timeout_seconds(timeout: int | float | str | None) -> int:
    """Batch attemptDurationSeconds for ``runtime.timeout`` (default 7 days, at least 60)."""
    if timeout is None:
        return DEFAULT_TIMEOUT_S
    if isinstance(timeout, bool):
        raise BatchParamError(f"invalid runtime.timeout: {timeout!r}")
    if isinstance(timeout, int | float):
        seconds = float(timeout)
    else:
        m = _DURATION.match(timeout)
        if not m:
            raise BatchParamError(f"invalid runtime.timeout: {timeout!r}")
        seconds = float(m.group(1)) * _UNIT_S[m.group(2).lower()]
    if seconds <= 0:
        return DEFAULT_TIMEOUT_S
    return max(MIN_TIMEOUT_S, math.ceil(seconds))


def resource_requirements(vcpu: int, mem_mib: int, gpus: int = 0) -> list[dict[str, str]]:
    """ContainerOverrides.ResourceRequirements (values are strings, as Batch requires)."""
    ans = [
        {"Type": "VCPU", "Value": str(int(vcpu))},
        {"Type": "MEMORY", "Value": str(int(mem_mib))},
    ]
    if gpus > 0:
        ans.append({"Type": "GPU", "Value": str(int(gpus))})
    return ans


def parse_return_codes(value: Any) -> str | int | list[int]:
    """Normalize runtime.returnCodes as miniwdl does: "*", an int, or a list of ints."""
    if value is None:
        return 0
    if isinstance(value, str):
        if value.strip() == "*":
            return "*"
        try:
            return int(value)
        except ValueError:
            raise BatchParamError(f"invalid runtime.returnCodes: {value!r}") from None
    if isinstance(value, bool):
        raise BatchParamError(f"invalid runtime.returnCodes: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        return list(value)
    raise BatchParamError(f"invalid runtime.returnCodes: {value!r}")


def returncode_allowed(rc: int, return_codes: str | int | list[int]) -> bool:
    """Is exit status ``rc`` a success under ``returnCodes``?"""
    if return_codes == "*":
        return True
    if isinstance(return_codes, list):
        return rc in return_codes
    return rc == return_codes


def is_host_termination(status_reason: str | None) -> bool:
    """Does a Batch StatusReason match ``Host EC2*`` (spot reclaim, instance termination)?"""
    return bool(status_reason) and str(status_reason).startswith(HOST_TERMINATION[:-1])


def job_definition_body(
    image: str,
    mount: dict[str, Any] | None = None,
    *,
    retry: dict[str, Any] | None = None,
    timeout_s: int | None = None,
) -> dict[str, Any]:
    """RegisterJobDefinition arguments (besides the name) for ``image``.

    The command and resources are placeholders: every submission overrides them. ``mount`` adds the
    shared file system's ``volumes`` / ``mountPoints`` (EFS or FSx, and the instances' scratch)
    and the task job role (``jobRoleArn``: EFS IAM authorization requires one) to the container.
    ``retry`` (a ``retry_strategy``) and ``timeout_s`` become the definition's ``retryStrategy``
    and ``timeout``: the submission carries neither, so the state machine need not either.
    """
    props: dict[str, Any] = {
        "image": image,
        "command": ["bash", "-c", "exit 1"],
        "resourceRequirements": [
            {"type": "VCPU", "value": str(DEFAULT_CPU)},
            {"type": "MEMORY", "value": str(DEFAULT_MEMORY_MIB)},
        ],
    }
    mount = mount or {}
    for key in ("volumes", "mountPoints", "jobRoleArn"):
        if mount.get(key):
            props[key] = mount[key]
    body: dict[str, Any] = {"type": "container", "containerProperties": props}
    if retry is not None:
        body["retryStrategy"] = registered_retry(retry)
    if timeout_s is not None:
        body["timeout"] = {"attemptDurationSeconds": int(timeout_s)}
    return body


def registered_retry(retry: dict[str, Any]) -> dict[str, Any]:
    """A ``retry_strategy`` (PascalCase, Step Functions' shape) as RegisterJobDefinition takes it
    (camelCase: ``attempts``, ``evaluateOnExit`` with ``onStatusReason`` / ``onReason`` /
    ``onExitCode`` and ``action``)."""
    out: dict[str, Any] = {"attempts": int(retry["Attempts"])}
    rules = [
        {k[0].lower() + k[1:]: v for k, v in r.items()} for r in retry.get("EvaluateOnExit", [])
    ]
    if rules:
        out["evaluateOnExit"] = rules
    return out


def job_definition_name(body: dict[str, Any]) -> str:
    """Content-hashed name: ``wdl2sfn-<sha256(canonical JSON of the body)[:16]>``."""
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return "wdl2sfn-" + hashlib.sha256(canon.encode("utf-8")).hexdigest()[:16]


_registered: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_registered_lock = threading.Lock()


def ensure_job_definition(
    client: Any,
    image: str,
    mount: dict[str, Any] | None = None,
    *,
    retry: dict[str, Any] | None = None,
    timeout_s: int | None = None,
    registry: Path | None = None,
) -> str:
    """Name of an ACTIVE job definition for ``image`` (+ mount, retry strategy, timeout),
    registering it only when ``describe_job_definitions`` finds none. Memoized per client object
    in this process and, with ``registry`` (the run's ``_jobdefs`` folder), once per run across
    processes, serialized and retried on throttling (:mod:`.registry`)."""
    body = job_definition_body(image, mount, retry=retry, timeout_s=timeout_s)
    name = job_definition_name(body)
    with _registered_lock:
        try:
            if name in _registered.get(client, ()):
                return name
        except TypeError:  # client not weak-referenceable: no memo
            pass
    register_once(client, name, body, registry)
    with _registered_lock:
        try:
            _registered.setdefault(client, set()).add(name)
        except TypeError:
            pass
    return name
