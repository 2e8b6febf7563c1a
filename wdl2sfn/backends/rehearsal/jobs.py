"""``batch:submitJob.sync`` (and ``aws-sdk:batch:submitJob``) as AWS does it: SubmitJob under the state machine's role, then the job
runs from its *registered* job definition only.

SubmitJob goes to moto's Batch API signed with the state machine role's keys (IAM, job name
rules, the 30 KiB request quota, parameter validation). The job then runs on the local Batch
(admission, retries, timeouts, termination on abort). With a container engine (``runtime``
docker or podman) a task's job runs in its definition's image, pulled as ECS pulls it (a missing
image fails the job before its command, ``CannotPullContainerError: ...``), with the definition's
``user``, ``ulimits``, environment and mounts; the stack's own definitions (the runner: wdl2sfn's
run-time steps) and every job without an engine run as host processes, wrapped in a sandbox built
from the job definition moto holds: its environment, its job role's keys, and its mounts. An
``efsVolumeConfiguration`` of the stack's file system binds the folder standing for it (after
AWS's IAM authorization rule); a host volume binds only a path the compute environment's launch
template user data mounts; anything else is absent, as on AWS.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...contract.settings import load_settings
from ..local.batch import (
    ContainerSetup,
    FaultPlan,
    LocalBatch,
    task_failure,
    to_camel_case,
    to_pascal_case,
)
from .iam import Principals, evaluate
from .joblogs import JobMirror
from .linux_params import engine_options, not_applied_on_host
from .placement import never_placed, time_limit
from .provision import Provisioned
from .sandbox import launcher, write_spec

EFS_MOUNT_DENIED = (
    "CannotStartContainerError: ResourceInitializationError: failed to invoke EFS utils "
    "commands to set up EFS volumes: stderr: mount.nfs4: access denied by server while mounting"
)
log = logging.getLogger(__name__)
KEEP = [
    "AWS_BATCH_JOB_ID", "AWS_BATCH_JOB_ATTEMPT", "AWS_BATCH_JQ_NAME", "AWS_BATCH_CE_NAME",
    "MANAGED_BY_AWS", "WDL2SFN_NO_TEE", "CUDA_VISIBLE_DEVICES", "TMPDIR",
]  # fmt: skip


class MountDenied(Exception):
    """The job role may not mount the file system as the job definition asks."""


@dataclass
class Job:
    """What one submitted job runs with (resolved from its registered definition)."""

    definition: dict[str, Any]
    queue_arn: str


class BatchService:
    """Submits through moto, runs on a LocalBatch; one per rehearsal."""

    def __init__(self, principals: Principals, provisioned: Provisioned, endpoint: str,
                 session: Any, folders: dict[str, Path], folder: Path,
                 runtime: str = "host") -> None:  # fmt: skip
        self.principals = principals
        self.provisioned = provisioned
        self.endpoint = endpoint
        self.session = session
        self.folders = folders  # file system id -> local folder
        self.folder = folder
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}  # job name -> what the launcher needs
        self._engine_submitting: dict[str, int] = {}  # job name -> SubmitJobs in flight
        queue_names = [arn.rsplit("/", 1)[-1] for arn in provisioned.queues]
        self.local = LocalBatch(
            log_dir=folder / "batch-logs",
            queues=queue_names,
            clamp_to_machine=True,
            launcher=self._launch,
            runtime=runtime,
            container_setup=self._container if runtime != "host" else None,
            on_output=lambda job, line: None,  # stderr teed to the log, as to CloudWatch on AWS
            faults=FaultPlan.from_env(),  # WDL2SFN_LOCAL_BATCH_FAULTS: lost spot hosts, for tests
            placement=self._placement,
        )
        self._registered: set[str] = set()

    def submit_sync(
        self,
        role_arn: str,
        params: dict[str, Any],
        abort: threading.Event,
        on_submitted: Any = None,
    ) -> Any:
        """Step Functions' SubmitJob (PascalCase Parameters) and wait: the DescribeJobs job.
        ``on_submitted`` gets SubmitJob's response (the TaskSubmitted event)."""
        request = to_camel_case(params)
        submitted = self._submit(role_arn, request)
        if on_submitted is not None:
            on_submitted({"JobArn": submitted.get("jobArn"), "JobId": submitted.get("jobId"),
                          "JobName": submitted.get("jobName")})  # fmt: skip
        definition = self._definition(submitted["jobDefinition"])
        resolver = self.provisioned.resolver  # moto's record and CloudWatch Logs follow the job
        mirror = JobMirror(resolver.account, resolver.region, str(submitted.get("jobId")),
                           self.local)  # fmt: skip
        return self._run_mirrored(params, definition, mirror, abort)

    def submit(self, role_arn: str, params: dict[str, Any]) -> dict[str, Any]:
        """Step Functions' ``aws-sdk:batch:submitJob``: SubmitJob as the role, then the job runs
        in the background; its end does not end the state (an exact join's wait job)."""
        submitted = self._submit(role_arn, to_camel_case(params))
        definition = self._definition(submitted["jobDefinition"])
        resolver = self.provisioned.resolver
        mirror = JobMirror(resolver.account, resolver.region, str(submitted.get("jobId")),
                           self.local)  # fmt: skip

        def run() -> None:
            try:  # Step Functions never stops a job it only submitted
                self._run_mirrored(params, definition, mirror, threading.Event())
            except Exception as exn:  # the job's record says how it ended
                log.info("job %s: %s", params.get("JobName"), exn)

        threading.Thread(target=run, daemon=True, name=f"sdk-job-{submitted.get('jobId')}").start()
        return {"JobArn": submitted.get("jobArn"), "JobId": submitted.get("jobId"),
                "JobName": submitted.get("jobName")}  # fmt: skip

    def _run_mirrored(
        self, params: dict[str, Any], definition: dict[str, Any], mirror: JobMirror,
        abort: threading.Event,
    ) -> Any:  # fmt: skip
        """Run a job moto accepted on the local Batch, its moto record following it."""
        queue = str(params["JobQueue"])
        local_request = {**params, "JobDefinition": self._local_definition(definition),
                         "JobQueue": queue.rsplit("/", 1)[-1]}  # fmt: skip
        with self._lock:
            self._jobs[params["JobName"]] = Job(definition, self._queue_arn(queue))
        try:
            return mirror.result(self.local.submit_job_sync(local_request, abort, mirror.started))
        except Exception as exn:
            raise mirror.failure(exn) from exn
        finally:
            mirror.stop()

    def run_api_job(self, moto_id: str, request: dict[str, Any]) -> None:
        """A job submitted through the Batch API itself (``wdl2sfn files`` submits the runner
        job so): run it as AWS would, in the background; DescribeJobs follows it."""
        with self._lock:
            if self._engine_submitting.get(str(request["jobName"])):
                return  # submit_sync runs it
        resolver = self.provisioned.resolver
        mirror = JobMirror(resolver.account, resolver.region, moto_id, self.local)

        def run() -> None:
            try:
                definition = self._definition(str(request["jobDefinition"]))
                self._run_mirrored(to_pascal_case(request), definition, mirror, threading.Event())
            except Exception as exn:  # the job's record says how it ended
                log.info("job %s (%s): %s", request["jobName"], moto_id, exn)

        threading.Thread(target=run, daemon=True, name=f"api-job-{moto_id}").start()

    def _submit(self, role_arn: str, request: dict[str, Any]) -> dict[str, Any]:
        from botocore.config import Config
        from botocore.exceptions import ClientError

        creds = self.principals.credentials(role_arn, "states")
        client = self.session.client(
            "batch",
            endpoint_url=self.endpoint,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),  # the state retries
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
        )
        name = str(request["jobName"])
        with self._lock:
            self._engine_submitting[name] = self._engine_submitting.get(name, 0) + 1
        try:
            job = client.submit_job(**request)
        except ClientError as exn:
            error = exn.response.get("Error", {})
            code = error.get("Code", "ClientException")
            raise task_failure(
                f"Batch.{code}",
                f"{error.get('Message', exn)} (Service: AWSBatch; Status Code: "
                f"{exn.response.get('ResponseMetadata', {}).get('HTTPStatusCode', 400)}; "
                f"Error Code: {code})",
            ) from exn
        finally:
            with self._lock:
                self._engine_submitting[name] -= 1
        # the job definition as submitted (moto's DescribeJobs can fail under concurrent
        # submissions, and Step Functions needs nothing more than SubmitJob's answer here)
        return {**job, "jobDefinition": request["jobDefinition"]}

    def _definition(self, ref: str) -> dict[str, Any]:
        batch = self.session.client("batch", endpoint_url=self.endpoint)
        key = "jobDefinitions" if ref.startswith("arn:") else "jobDefinitionName"
        query = {key: [ref]} if key == "jobDefinitions" else {key: ref.split(":")[0]}
        found = batch.describe_job_definitions(**query, status="ACTIVE")["jobDefinitions"]
        if not found:
            raise task_failure("Batch.ClientException", f"job definition {ref} not found")
        latest: dict[str, Any] = max(found, key=lambda d: int(d.get("revision", 0)))
        return dict(latest)

    def _local_definition(self, definition: dict[str, Any]) -> str:
        name = f"{definition['jobDefinitionName']}-{definition.get('revision', 1)}"
        with self._lock:
            if name in self._registered:
                return name
            self._registered.add(name)
        props = definition.get("containerProperties", {})
        self.local.register_job_definition(
            jobDefinitionName=name,
            type="container",
            containerProperties={k: props[k] for k in ("image", "command", "environment",
                                                       "resourceRequirements") if k in props},
            **({"retryStrategy": definition["retryStrategy"]} if "retryStrategy" in definition else {}),
            **({"timeout": definition["timeout"]} if "timeout" in definition else {}),
        )  # fmt: skip
        return name

    def _placement(self, desc: dict[str, Any], need: Any) -> tuple[str, float | None] | None:
        """LocalBatch's placement: whether the job's queue's compute environments can ever run
        it (placement.py), and how long its queue lets it stay RUNNABLE if not."""
        with self._lock:
            queue_arn = self._jobs[desc["jobName"]].queue_arn
        environments = [self.provisioned.compute[ce]
                        for ce in self.provisioned.queues.get(queue_arn, [])
                        if ce in self.provisioned.compute]  # fmt: skip
        reason = never_placed(need, environments) if environments else None
        if reason is None:
            return None
        override = load_settings().rehearsal_runnable_seconds
        actions = self.provisioned.time_limits.get(queue_arn, [])
        return reason, time_limit(actions, reason, float(override) if override else None)

    def _queue_arn(self, queue: str) -> str:
        for arn in self.provisioned.queues:
            if queue in (arn, arn.rsplit("/", 1)[-1]):
                return arn
        return queue

    # ------------------------------------------------------------------ the job's sandbox
    def _launch(self, desc: dict[str, Any], command: list[str]) -> list[str]:
        """LocalBatch's launcher: the job's command inside the sandbox its definition gives it."""
        with self._lock:
            job = self._jobs[desc["jobName"]]
        props = job.definition.get("containerProperties", {})
        warning = not_applied_on_host(props)
        if warning and desc["container"].get("logStreamName"):  # the job's log: said, not hidden
            with open(desc["container"]["logStreamName"], "a") as log_file:
                log_file.write(warning + "\n")
        binds = self.binds(job, props)
        env = {e["name"]: e["value"] for e in desc["container"].get("environment", [])}
        env.update(self._aws_environment(props))
        spec = self.folder / "specs" / f"job-{next(self._counter)}.json"
        return launcher(write_spec(spec, binds, env, KEEP), command)

    def _container(self, desc: dict[str, Any]) -> ContainerSetup | None:
        """LocalBatch's container set-up of a job, from its registered definition: its mounts,
        the job role's keys and the endpoint (a file only its owner reads), ``user`` and
        ``ulimits``. None for the stack's own definitions (the runner), which run on the host."""
        with self._lock:
            job = self._jobs[desc["jobName"]]
        if job.definition.get("jobDefinitionName") in self._stack_definitions():
            return None
        props = job.definition.get("containerProperties", {})
        lines = [f"{k}={v}" for k, v in self._aws_environment(props).items()]
        env_file = self.folder / "specs" / f"job-{next(self._counter)}.env"
        env_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("".join(line + "\n" for line in lines))
        limits = tuple(f"{u['name']}={u['softLimit']}:{u['hardLimit']}"
                       for u in props.get("ulimits") or [])  # fmt: skip
        memory = next((int(r["value"]) for r in desc["container"].get("resourceRequirements", [])
                       if r["type"] == "MEMORY"), None)  # fmt: skip
        options = engine_options(props.get("linuxParameters") or {}, memory)
        return ContainerSetup(mounts=tuple(self.binds(job, props)), env_file=str(env_file),
                              user=props.get("user") or None, ulimits=limits,
                              options=tuple(options))  # fmt: skip

    def _aws_environment(self, props: dict[str, Any]) -> dict[str, str]:
        """What a job's AWS SDK needs here: moto's endpoint, the region, the job role's keys."""
        env = {"AWS_ENDPOINT_URL": self.endpoint,
               "AWS_REGION": self.provisioned.resolver.region,
               "AWS_DEFAULT_REGION": self.provisioned.resolver.region}  # fmt: skip
        if props.get("jobRoleArn"):
            env.update(self.principals.credentials(props["jobRoleArn"], "batch").environment())
        return env

    def _stack_definitions(self) -> set[str]:
        """Names of the job definitions the stack itself declares (its runner)."""
        arns = [p.ref for p in self.provisioned.of_type("AWS::Batch::JobDefinition").values()]
        return {arn.rsplit("/", 1)[-1].split(":")[0] for arn in arns}

    def binds(self, job: Job, props: dict[str, Any]) -> list[tuple[str, str, bool]]:
        volumes = {v.get("name"): v for v in props.get("volumes", [])}
        binds: list[tuple[str, str, bool]] = []
        for mount in props.get("mountPoints", []):
            volume = volumes.get(mount.get("sourceVolume"), {})
            source = self._volume_source(job, props, volume, bool(mount.get("readOnly")))
            if source is not None:
                binds.append((source, mount["containerPath"], bool(mount.get("readOnly"))))
        return binds

    def _volume_source(self, job: Job, props: dict[str, Any], volume: dict[str, Any],
                       read_only: bool) -> str | None:  # fmt: skip
        efs = volume.get("efsVolumeConfiguration")
        if efs:
            self.check_efs_mount(props, efs, read_only)
            root = self._efs_root(efs)
            folder = self.folders.get(efs["fileSystemId"])
            return str(folder / root.lstrip("/")) if folder is not None else None
        host = str((volume.get("host") or {}).get("sourcePath") or "")
        for path in self._host_paths(job.queue_arn) if host else []:
            if host == path or host.startswith(path.rstrip("/") + "/"):  # the path or below it
                return str(self.host_folder(path) / host[len(path) :].lstrip("/"))
        return None

    def _efs_root(self, efs: dict[str, Any]) -> str:
        ap = (efs.get("authorizationConfig") or {}).get("accessPointId")
        if ap:
            return str(self.provisioned.access_points.get(ap, {}).get("root", "/"))
        return str(efs.get("rootDirectory") or "/")

    def _host_paths(self, queue_arn: str) -> list[str]:
        paths: list[str] = []
        for ce in self.provisioned.queues.get(queue_arn, []):
            compute = self.provisioned.compute.get(ce)
            if compute is not None and not compute.platform.startswith("FARGATE"):
                paths += compute.host_paths
        return paths

    def host_folder(self, host_path: str) -> Path:
        """The folder standing for an instance's host path (the FSx mount, instance storage)."""
        for fs_id, kind in self.provisioned.file_systems.items():
            if kind == "fsx" and host_path == "/mnt/net":
                return self.folders[fs_id]
        folder = self.folder / "host" / host_path.strip("/").replace("/", "_")
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def check_efs_mount(self, props: dict[str, Any], efs: dict[str, Any], read_only: bool) -> None:
        """AWS's rule for IAM-authorized EFS volumes (Batch and the EFS mount helper)."""
        auth = efs.get("authorizationConfig") or {}
        if auth.get("iam") != "ENABLED":
            return
        role = props.get("jobRoleArn")
        if efs.get("transitEncryption") != "ENABLED" or not role:
            raise task_failure("Batch.ClientException",
                               "EFS IAM authorization requires that TransitEncryption be ENABLED "
                               "and that a JobRoleArn is specified")  # fmt: skip
        fs_id = efs["fileSystemId"]
        resource = f"arn:aws:elasticfilesystem:{self.provisioned.resolver.region}:" \
                   f"{self.provisioned.resolver.account}:file-system/{fs_id}"  # fmt: skip
        needed = ["elasticfilesystem:ClientMount"]
        if not read_only:
            needed.append("elasticfilesystem:ClientWrite")
        ap = self.provisioned.access_points.get(auth.get("accessPointId", ""), {})
        if ap.get("uid", 0) == 0:
            needed.append("elasticfilesystem:ClientRootAccess")
        docs = self.principals.policies(role.rsplit("/", 1)[-1])
        docs += (
            [self.provisioned.fs_policies[fs_id]] if fs_id in self.provisioned.fs_policies else []
        )
        conditions = {"elasticfilesystem:AccessedViaMountTarget": "true"}
        missing = [a for a in needed if not evaluate(docs, a, resource, conditions)]
        if missing:
            raise MountDenied(f"{EFS_MOUNT_DENIED} ({role} lacks {', '.join(missing)} on {fs_id})")

    def registered_definitions(self) -> list[dict[str, Any]]:
        """Every job definition registered in the account, as registered."""
        batch = self.session.client("batch", endpoint_url=self.endpoint)
        found = batch.describe_job_definitions()["jobDefinitions"]
        listed: list[dict[str, Any]] = json.loads(json.dumps(found, default=str))
        return listed

    def close(self) -> None:
        self.local.shutdown()
