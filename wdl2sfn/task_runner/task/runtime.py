"""runtime{} / requirements{}: evaluated, overridden by call inputs, normalized to runtime.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import WDL

from ... import wdl as adapter
from .. import batch_params as bp
from ..errors import WdlRuntimeError
from ..images import mirrored
from .context import RUNTIME_OVERRIDE_NAMESPACES, TaskContext, is_wdl12, task_decls, trusted_paths
from .failures import translate
from .stdlib import call_stdlib


def eval_runtime(
    task: WDL.Tree.Task,
    env: WDL.Env.Bindings[WDL.Value.Base],
    inputs: WDL.Env.Bindings[WDL.Value.Base],
    call_dir: Path,
    call: str,
) -> dict[str, WDL.Value.Base]:
    """runtime{}/requirements{} values, then ``runtime.*``/``requirements.*`` call-input
    overrides and ``hints.queue`` (miniwdl's _eval_task_runtime order)."""
    stdlib = call_stdlib(task, call_dir, outputs=False, trusted=trusted_paths(env))
    raw: dict[str, WDL.Value.Base] = {}
    for key, expr in task.runtime.items():
        try:
            raw[key] = expr.eval(env, stdlib=stdlib)
        except Exception as exn:
            raise translate(exn, call, f"runtime.{key}") from exn
    for ns in RUNTIME_OVERRIDE_NAMESPACES:
        for b in inputs.enter_namespace(ns):
            raw[b.name] = b.value
    for b in inputs.enter_namespace("hints"):
        if b.name == "queue":
            raw["queue"] = b.value
    if is_wdl12(task):
        for old, new in (("return_codes", "returnCodes"), ("max_retries", "maxRetries")):
            if old in raw:
                raw[new] = raw.pop(old)
    return raw


def normalize_runtime(
    raw: dict[str, WDL.Value.Base],
    ctx: TaskContext,
    task: WDL.Tree.Task,
    env: WDL.Env.Bindings[WDL.Value.Base],
) -> dict[str, Any]:
    """runtime.json: the values as the job needs them (image, VCPU, MiB, GPUs, retries, queue...);
    an invalid value is a WdlRuntimeError naming the call and the key."""
    call = ctx.call_name
    r = _RawRuntime(raw, call)
    try:
        image = mirrored(_image(raw, ctx.default_image), ctx.image_mirrors)
        cpu = bp.vcpus(r.get("cpu", WDL.Type.Float()))
        memory = bp.memory_mib(r.get("memory", WDL.Type.String()))
        gpus = _gpus(r)
        if is_wdl12(task):
            _refuse_fpga(r)
        max_retries = max(0, r.get("maxRetries", WDL.Type.Int()) or 0)
        preemptible = max(0, r.get("preemptible", WDL.Type.Int()) or 0)
        rc_v = raw.get("returnCodes")
        return_codes = bp.parse_return_codes(None if rc_v is None else rc_v.json)
        timeout_v = r.present("timeout")
        timeout = bp.timeout_seconds(None if timeout_v is None else timeout_v.json)
        queue_override = r.get("queue", WDL.Type.String())
        kind, arn = bp.select_queue(
            ctx.queues, gpus=gpus, preemptible=preemptible, override=queue_override
        )
        bp.check_queue_limits(ctx.queue_limits, kind, cpu=cpu, gpus=gpus)
        disks_v = r.present("disks")
        disk_bytes = (
            bp.disk_bytes(None if disks_v is None else disks_v.json) if is_wdl12(task) else {}
        )
    except bp.BatchParamError as exn:
        raise WdlRuntimeError(f"call {call}: {exn}", call=call) from exn
    disks = raw.get("disks")
    return {
        "docker": image,
        # a task naming no image runs the default one: prepare says so (prepare.py)
        "default_image": _image(raw, "") == "",
        "cpu": cpu,
        "memory_mib": memory,
        "gpus": gpus,
        "maxRetries": max_retries,
        "preemptible": preemptible,
        "returnCodes": return_codes,
        "timeout_s": timeout,
        "disks": None if disks is None else disks.json,
        "disk_bytes": disk_bytes,
        # WDL 1.2: the job's script records its attempt number for the outputs' task.attempt
        "record_attempt": is_wdl12(task),
        "queue": kind,
        "queue_arn": arn,
        "env": _env_decls(task, env),
        "values": {k: v.json for k, v in raw.items()},
    }


@dataclass
class _RawRuntime:
    """The evaluated runtime values of one call, read by key."""

    raw: dict[str, WDL.Value.Base]
    call: str

    def present(self, key: str) -> WDL.Value.Base | None:
        """The value of `key`, None when absent or WDL None."""
        v = self.raw.get(key)
        return None if v is None or isinstance(v, WDL.Value.Null) else v

    def get(self, key: str, ty: WDL.Type.Base) -> Any:
        """The value of `key` coerced to `ty`, as Python (None when absent)."""
        v = self.present(key)
        if v is None:
            return None
        try:
            return v.coerce(ty).value
        except Exception as exn:
            raise WdlRuntimeError(
                f"call {self.call}: invalid runtime.{key}: {v}", call=self.call, key=key
            ) from exn


def _image(raw: dict[str, WDL.Value.Base], default: str) -> str:
    """`container` wins over `docker`; an array offers candidates, miniwdl takes the first."""
    image_v = raw.get("container", raw.get("docker"))
    if isinstance(image_v, WDL.Value.Array):
        image_v = image_v.value[0] if image_v.value else None
    if image_v is None or isinstance(image_v, WDL.Value.Null):
        return default
    return str(image_v.coerce(WDL.Type.String()).value)


def _gpus(r: _RawRuntime) -> int:
    """GPUs asked: runtime.gpu (true or a count), or acceleratorCount/acceleratorType."""
    gpu_v = r.present("gpu")
    gpu: bool | int | None = None
    if isinstance(gpu_v, WDL.Value.Boolean | WDL.Value.Int):
        gpu = gpu_v.value
    elif gpu_v is not None:
        raise WdlRuntimeError(f"call {r.call}: invalid runtime.gpu: {gpu_v}", call=r.call)
    return bp.gpu_count(
        gpu, r.get("acceleratorCount", WDL.Type.Int()), r.get("acceleratorType", WDL.Type.String())
    )


def _refuse_fpga(r: _RawRuntime) -> None:
    """WDL 1.2 "Hardware Accelerators": the engine "must guarantee that at least one of each of
    the request types of accelerators is available or immediately fail the task prior to
    instantiating the command". AWS Batch reserves no FPGA (a job's ResourceRequirement types are
    GPU, MEMORY and VCPU), so ``fpga: true`` (or a count) fails the call at prepare, by name."""
    fpga_v = r.present("fpga")
    if fpga_v is None or (
        isinstance(fpga_v, WDL.Value.Boolean | WDL.Value.Int) and not fpga_v.value
    ):
        return
    raise WdlRuntimeError(
        f"call {r.call}: requirements.fpga: {fpga_v} asks for an FPGA, and AWS Batch reserves"
        " no FPGA for a job (its resource types are GPU, MEMORY and VCPU); remove it or set"
        " fpga: false",
        call=r.call,
        key="fpga",
    )


def _env_decls(task: WDL.Tree.Task, env: WDL.Env.Bindings[WDL.Value.Base]) -> dict[str, str]:
    """WDL 1.2 ``env`` declarations become environment variables of the job."""
    ans: dict[str, str] = {}
    for decl in task_decls(task):
        decor = getattr(decl, "decor", None) or {}
        if decor.get("env", False) is True and env.has_binding(decl.name):
            v = env[decl.name]
            if isinstance(v, WDL.Value.String):  # includes File, Directory
                ans[decl.name] = v.value
            else:
                ans[decl.name] = json.dumps(v.json)
    return ans


def task_struct(
    task: WDL.Tree.Task,
    call: str,
    runtime: dict[str, Any],
    return_code: int | None = None,
    attempt: int = 0,
) -> WDL.Value.Base:
    """WDL 1.2's ``task`` runtime-info struct: the requested resources (Batch reserves what the
    job asks), ``attempt`` 0 on the first try and one more on each retry."""
    meta, parameter_meta = adapter.task_meta_json(task)
    info: dict[str, Any] = {
        "name": task.name,
        "id": call,
        "container": runtime.get("docker"),
        "cpu": float(runtime.get("cpu", bp.DEFAULT_CPU)),
        "memory": int(runtime.get("memory_mib", bp.DEFAULT_MEMORY_MIB)) * bp.MIB,
        # "one specification per allocated GPU" (engine-specific); no FPGA is ever allocated
        "gpu": [f"AWS Batch GPU {i}" for i in range(int(runtime.get("gpus", 0) or 0))],
        "fpga": [],
        "disks": runtime.get("disk_bytes") or {},
        "attempt": attempt,
        "end_time": None,
        "meta": meta,
        "parameter_meta": parameter_meta,
    }
    output_section = return_code is not None
    if output_section:
        info["return_code"] = return_code
    ty = task.task_runtime_info_struct_type(output_section=output_section)
    return WDL.Value.from_json(ty, info)
