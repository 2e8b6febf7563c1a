"""The run-time steps: plain `handler(event) -> dict` functions over small JSON events.

On AWS each is a Lambda function (EFS mounted); locally the executor calls them in-process. They
share nothing but the run store, so any of them may run anywhere, any number of times: each is
idempotent (re-running one with the same event gives the same result).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import WDL
from WDL import Tree

from .. import wdl
from ..contract.settings import Settings as EnvSettings
from ..contract.settings import load_settings
from ..workflow_index import NodeInfo, WorkflowIndex, call_path
from .errors import WdlError, WdlInputError
from .registry import FOLDER
from .store import RunStore
from .task import TaskContext, collect_task, prepare_task, recover_task
from .workflow_eval import WorkflowEval

Handler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Settings:
    """Where the store is and how to reach Batch/S3; from the environment on AWS."""

    store: RunStore
    job_definitions: Any = None  # boto3 batch client, or the LocalBatch
    s3: Any = None  # boto3 s3 client when running on AWS
    run_bucket: str | None = None
    mount: dict[str, Any] = field(default_factory=dict)
    default_image: str = "ubuntu:22.04"
    image_mirrors: dict[str, str] = field(default_factory=dict)  # images.mirrored
    stack_default_image: bool = False  # default_image is the stack's (WDL2SFN_DEFAULT_IMAGE)
    copy_input_files: bool = False
    task_tokens: Any = None  # answers .waitForTaskToken locally (None: the Step Functions API)
    queue_limits: dict[str, dict[str, int]] | None = None  # the stack's (WDL2SFN_QUEUE_LIMITS)
    # the stack's task queues and runner (WDL2SFN_QUEUES, WDL2SFN_RUNNER): what a machine
    # compiled for EFS no longer writes into every definition (an event's own still wins)
    queues: dict[str, str] = field(default_factory=dict)
    runner: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        """On AWS (Lambda or a runner job) everything comes from WDL2SFN_* variables; AWS clients
        are made only when a run bucket is configured (a local runner job needs none)."""
        env = load_settings()
        bucket = env.run_bucket or None
        batch = s3 = None
        if bucket:
            import boto3

            batch, s3 = boto3.client("batch"), boto3.client("s3")
        local_registry = env.local_job_definitions
        if batch is None and local_registry:
            from .jobdefs import FileJobDefinitions

            batch = FileJobDefinitions(Path(local_registry))
        return cls(
            store=RunStore(Path(env.store)),
            job_definitions=batch,
            s3=s3,
            run_bucket=bucket,
            mount=_mount_from_env(env),
            queue_limits=json.loads(env.queue_limits) if env.queue_limits else None,
            queues=json.loads(env.queues) if env.queues else {},
            runner=json.loads(env.runner) if env.runner else {},
            default_image=env.default_image or "ubuntu:22.04",
            stack_default_image=bool(env.default_image),
            image_mirrors=json.loads(env.image_mirror) if env.image_mirror else {},
        )


def _mount_from_env(env: EnvSettings) -> dict[str, Any]:
    """What every task job definition needs of the stack (its Lambda/runner environment): the
    shared file system at the store's mount path, the task job role (EFS IAM authorization needs
    one), and the instances' scratch volume for TMPDIR. Empty locally."""
    mount_path = env.mount_path
    volume: dict[str, Any] | None = None
    if env.efs_id:
        efs: dict[str, Any] = {
            "fileSystemId": env.efs_id,
            "transitEncryption": "ENABLED",
        }
        if env.efs_access_point:
            efs["authorizationConfig"] = {
                "accessPointId": env.efs_access_point,
                "iam": "ENABLED",
            }
        volume = {"name": "shared", "efsVolumeConfiguration": efs}
    elif env.fsx_id:  # the instances mount FSx at the same path
        volume = {"name": "shared", "host": {"sourcePath": mount_path}}
    if volume is None:
        return {}
    volumes = [volume]
    points = [{"sourceVolume": "shared", "containerPath": mount_path, "readOnly": False}]
    scratch = env.task_scratch
    if scratch:
        volumes.append({"name": "scratch", "host": {"sourcePath": scratch}})
        points.append({"sourceVolume": "scratch", "containerPath": scratch, "readOnly": False})
    mount: dict[str, Any] = {"volumes": volumes, "mountPoints": points, "mount_path": mount_path}
    if env.job_role_arn:
        mount["jobRoleArn"] = env.job_role_arn
    if scratch:
        mount["scratch"] = scratch
    return mount


def run_scoped(mount: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """The shared-file-system mount narrowed to one run's folder (docs/security.md): a task
    container sees its own run, at the same absolute path, and nothing else of the file system
    (other runs, the call cache, sources). EFS: the volume's ``rootDirectory`` is the run folder,
    with IAM authorization and no access point (an access point would pin the root at ``/``);
    FSx: the host volume's source is the run folder on the instance's mount."""
    if not mount.get("volumes"):
        return mount
    mount_path = str(mount.get("mount_path") or "/mnt/efs")
    run = str(run_dir)
    if not run.startswith(mount_path.rstrip("/") + "/"):
        return mount
    scoped: dict[str, Any] = json.loads(json.dumps(mount))
    for volume in scoped["volumes"]:
        if volume["name"] != "shared":
            continue
        efs = volume.get("efsVolumeConfiguration")
        if efs is not None:
            efs["rootDirectory"] = "/" + run[len(mount_path) :].strip("/")
            efs["authorizationConfig"] = {"iam": "ENABLED"}
        else:
            volume["host"]["sourcePath"] = run
    for point in scoped["mountPoints"]:
        if point["sourceVolume"] == "shared":
            point["containerPath"] = run
    scoped["contained"] = True
    return scoped


class Runtime:
    """The step functions bound to one set of Settings, with per-process caches of parsed WDL."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._docs: dict[str, Tree.Document] = {}
        self._evals: dict[str, WorkflowEval] = {}
        # run -> its record without the inputs, read once: run.json holds the inputs (30 MB for
        # 300,000 paths), too much to re-read for every call's options and queues
        self._records: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def dispatch(self, step: str, event: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, step, None)
        if step.startswith("_") or step not in STEPS or handler is None:
            raise ValueError(f"unknown run-time step {step!r}")
        return handler(event)  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ steps
    def init(self, event: dict[str, Any]) -> dict[str, Any]:
        """Normalise the execution input (or an EventBridge event) into the run record."""
        from .init import initialize_run

        if "input_key" in event and "input" not in event:  # FSx: the input came by the bucket
            event = {**event, "input": json.loads(self._read_key(str(event["input_key"])))}
        return initialize_run(self.settings, event, self.document)

    def _read_key(self, key: str) -> bytes:
        """A run-bucket object (on AWS) or the same key under the store root (locally)."""
        s = self.settings
        if s.run_bucket and s.s3 is not None:
            return bytes(s.s3.get_object(Bucket=s.run_bucket, Key=key)["Body"].read())
        return s.store.key_path(key).read_bytes()

    def prepare(self, event: dict[str, Any]) -> dict[str, Any]:
        ev, info, shard = self._locate(event)
        assert isinstance(info.node, Tree.Call) and isinstance(info.node.callee, Tree.Task)
        inputs = ev.call_inputs(info, shard)
        ev.files.check_values(inputs, f"call {call_path(info.ref)}: input")
        prepared = prepare_task(
            info.node.callee, inputs, self._task_context(ev, info, shard, event)
        )
        if prepared.job is None:
            if prepared.cached:  # the machine skips run and collect: this call is done now
                self._release_waiters(event)
            return {"cached": prepared.cached}
        return {"cached": prepared.cached, **prepared.job, "step": step_ref(event)}

    def collect(self, event: dict[str, Any]) -> dict[str, Any]:
        if isinstance(event.get("step"), dict):  # the shared failure step: prepare's `step`
            event = {**event, **event["step"]}
        ev, info, shard = self._locate(event)
        assert isinstance(info.node, Tree.Call) and isinstance(info.node.callee, Tree.Task)
        ctx = self._task_context(ev, info, shard, event)
        if event.get("error"):
            job = recover_task(info.node.callee, ctx, event["error"])
            return {"job": {**job, "step": step_ref(event)}}
        collect_task(info.node.callee, ctx)
        self._release_waiters(event)
        return {"ok": True}

    def _release_waiters(self, event: dict[str, Any]) -> None:
        """A call that units of other lanes wait for (`waiters` in its event) releases them
        itself once done: one step less than a release state after it (task_runner/joins.py)."""
        if event.get("waiters"):
            from .joins import release_call

            release_call(self.settings, event, node_of(event))

    def eval(self, event: dict[str, Any]) -> dict[str, Any]:
        if "join" in event:  # an exact join's wait or release step (no WDL to evaluate)
            from .joins import handle_join

            return handle_join(self.settings, event)
        ev, info, shard = self._locate(event)
        if isinstance(info.node, Tree.Scatter):
            return self._scatter(ev, info, shard)
        assert isinstance(info.node, Tree.Conditional), info.ref
        return {"value": ev.condition(info.ref, shard)}

    def finalize(self, event: dict[str, Any]) -> dict[str, Any]:
        from .finalize import finalize_run

        ev = self._eval(event["run"])
        return finalize_run(self.settings, ev, event.get("runner") or self.settings.runner)

    def upload(self, event: dict[str, Any]) -> dict[str, Any]:
        from .upload import upload_run

        return upload_run(self.settings, event["run"])

    def files(self, event: dict[str, Any]) -> dict[str, Any]:
        """`wdl2sfn files RUN --backend aws`: a run folder's listing (and copies) via the bucket."""
        from .files import files_step

        return files_step(self.settings, event)

    # ------------------------------------------------------------------ helpers
    def _scatter(self, ev: WorkflowEval, info: NodeInfo, shard: tuple[int, ...]) -> dict[str, Any]:
        store = self.settings.store
        count = len(ev.scatter_items(info.ref, shard))
        key = store.items_key(ev.run, info.ref, shard)
        items = [{"shard": [*shard, i]} for i in range(count)]
        body = json.dumps(items, separators=(",", ":")).encode()
        path = store.key_path(key)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            from .atomic import write_bytes_atomic

            write_bytes_atomic(path, body)
        if self.settings.run_bucket and self.settings.s3 is not None:
            self.settings.s3.put_object(Bucket=self.settings.run_bucket, Key=key, Body=body)
        return {
            "count": count,
            "items_key": key,
        }

    def _locate(self, event: dict[str, Any]) -> tuple[WorkflowEval, NodeInfo, tuple[int, ...]]:
        ev = self._eval(event["run"])
        shard = tuple(int(i) for i in event.get("shard") or ())
        return ev, ev.index[node_of(event)], shard

    def _task_context(
        self, ev: WorkflowEval, info: NodeInfo, shard: tuple[int, ...], event: dict[str, Any]
    ) -> TaskContext:
        s = self.settings
        with self._lock:
            record = self._records.get(ev.run)
        if record is None:
            record = self.run_record(ev.run)
        options = record.get("options", {})
        name = call_path(info.ref) + "".join(f"-{i}" for i in shard)
        return TaskContext(
            call_dir=s.store.call_dir(ev.run, info.ref, shard),
            call_name=name,
            job_name=_job_name(ev.workflow.name, name),
            # the stack's (WDL2SFN_QUEUES); in the run record from machines whose init carried
            # them (FSx, older EFS ones); in the event from older machines still
            queues=event.get("queues") or record.get("queues") or s.queues,
            job_definitions=s.job_definitions,
            store_root=s.store.root,
            cache_root=None if record.get("options", {}).get("no_cache") else s.store.cache_root(),
            copy_input_files=s.copy_input_files
            or bool(record.get("options", {}).get("copy_input_files")),
            mount=run_scoped(s.mount, s.store.run_dir(ev.run)),
            default_image=s.default_image,
            image_mirrors=s.image_mirrors,
            stack_default_image=s.stack_default_image,
            env=dict(options.get("env") or {}),
            runtime_defaults=dict(options.get("runtime_defaults") or {}),
            user_inodes=ev.files.user_inodes,
            queue_limits=s.queue_limits,
            job_definition_registry=s.store.run_dir(ev.run) / FOLDER if s.mount else None,
        )

    def run_record(self, run: str) -> dict[str, Any]:
        return dict(
            self.settings.store.read_json(self.settings.store.run_dir(run) / RunStore.RECORD)
        )

    def _eval(self, run: str) -> WorkflowEval:
        with self._lock:
            ev = self._evals.get(run)
        if ev is not None:
            return ev
        record = self.run_record(run)
        doc = self.document(
            record["workflow"]["digest"],
            self.settings.store.run_dir(run) / "wdl" / record["workflow"]["main"],
            record["workflow"].get("check_quant", True) is not False,
        )
        workflow = doc.workflow
        assert workflow is not None
        inputs = WDL.values_from_json(
            record["inputs"], workflow.available_inputs, namespace=workflow.name
        )
        ev = WorkflowEval(self.settings.store, run, workflow, WorkflowIndex(workflow), inputs)
        with self._lock:
            self._evals[run] = ev
            self._records[run] = {k: v for k, v in record.items() if k != "inputs"}
        return ev

    def document(self, digest: str, path: Path, check_quant: bool = True) -> Tree.Document:
        with self._lock:
            doc = self._docs.get(digest)
        if doc is None:
            doc = wdl.load(str(path), check_quant=check_quant)
            with self._lock:
                self._docs[digest] = doc
        return doc

    def remember(self, digest: str, doc: Tree.Document) -> None:
        """Reuse a document already parsed (by the CLI) for runs of the same sources."""
        with self._lock:
            self._docs[digest] = doc

    def forget(self, run: str) -> None:
        """Drop a finished run's in-memory values (long-lived local processes)."""
        with self._lock:
            self._evals.pop(run, None)
            self._records.pop(run, None)


STEPS = ("init", "prepare", "collect", "eval", "finalize", "upload", "files")


def node_of(event: dict[str, Any]) -> str:
    """The node an event names: `node`, relative to `scope` when a call step carries one (a
    child machine's prepare and collect name their call as compiled, plus the input's scope)."""
    node = str(event["node"])
    scope = event.get("scope") if "join" not in event else None
    return f"{scope}/{node}" if scope else node


def step_ref(event: dict[str, Any]) -> dict[str, Any]:
    """What prepare hands on (JOB's `step`): the event that names this call instance, as the
    call machine gave it, with the waiters collect releases. `collect` and the failure step
    take it as their payload."""
    return {k: event[k] for k in ("run", "node", "shard", "scope", "waiters") if k in event}


def _job_name(workflow: str, call: str) -> str:
    """Batch job names: letters, digits, hyphens and underscores, at most 128 characters."""
    raw = f"{workflow}-{call}"
    clean = "".join(c if c.isalnum() or c in "-_" else "-" for c in raw)
    return clean[:128]


__all__ = ["Runtime", "Settings", "STEPS", "WdlError", "WdlInputError"]
