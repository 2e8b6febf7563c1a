"""An AWS account on one machine: the synthesized stack, created in moto's server, with the
local executor behind Step Functions (docs/rehearsal.md).

``Rehearsal(context, folder).start()`` synthesizes the CDK app, starts moto's server in this
process, creates what the template declares, switches on IAM enforcement, and installs the
engine. ``AWS_ENDPOINT_URL=<endpoint>`` then points ``wdl2sfn deploy``/``run --backend aws`` at
it. Two kinds of keys: the CLI user's (``describe()["cli_keys"]``, an IAM user holding only the
stack's ``CliUserPolicyArn``, as a person running the CLI on AWS would), which ``rehearse WF.wdl``
and the journey tests use for every CLI command; and the operator's (any keys moto does not
know), the account's administrator, for provisioning and for tests that inspect the account.

Folder layout::

    <folder>/aws-calls.jsonl        every AWS call: principal, service, action, resource, allowed
    <folder>/job-definitions.json   every registered job definition, as registered (at close)
    <folder>/templates/             the rehearsed *.template.json
    <folder>/filesystems/<fs-id>/   the folder standing for the stack's EFS or FSx file system
    <folder>/executions/            each execution's history (GetExecutionHistory answers from it)
    <folder>/lambda-logs/ batch-logs/ specs/ host/   function logs, job logs, sandboxes, host paths
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

from . import hooks, moto_support, versions
from .engine import CallLog, RehearsalEngine
from .iam import Principals
from .jobs import BatchService
from .lambdas import LambdaService
from .provision import Provisioned, Provisioner
from .sandbox import ensure_mount_points
from .template import Synthesized, keep_templates, synthesize

ACCOUNT = "123456789012"
REGION = "us-east-1"
OPERATOR_KEYS = {"AWS_ACCESS_KEY_ID": "operator", "AWS_SECRET_ACCESS_KEY": "operator"}
CLI_USER = "wdl2sfn-cli"
MOUNT_PATHS = {"efs": "/mnt/efs", "fsx": "/mnt/net"}


class Rehearsal:
    """One rehearsed account; use as a context manager (or start()/close())."""

    def __init__(self, context: dict[str, Any], folder: Path, port: int = 0,
                 runtime: str = "host") -> None:  # fmt: skip
        self.context = context
        self.runtime = runtime  # how Batch jobs run: host, docker or podman
        self.folder = Path(folder).resolve()
        self.port = port
        self.server: Any = None
        self.endpoint = ""
        self.synthesized: Synthesized | None = None
        self.provisioned: Provisioned | None = None
        self.engine: RehearsalEngine | None = None
        self.cli_keys: dict[str, str] = {}

    def __enter__(self) -> Rehearsal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def stack(self) -> str:
        assert self.synthesized is not None
        return self.synthesized.stack

    def start(self) -> Rehearsal:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.synthesized = synthesize(self.context, self.folder / "cdk.out")
        keep_templates(self.synthesized, self.folder / "templates")
        self._start_moto()
        session = self.session()
        provisioner = Provisioner(session, self.endpoint, self.stack,
                                  self.synthesized.assembly_dir, ACCOUNT, REGION)  # fmt: skip
        self.provisioned = provisioner.provision(self.synthesized.template)
        self.cli_keys = cli_user_keys(session, self.endpoint, self.provisioned.outputs)
        self.engine = self._engine(session)
        hooks.install(self.engine)
        _enforce_iam(True)
        return self

    def _start_moto(self) -> None:
        moto_support.check()
        from moto.core.config import default_user_config
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # the stack record is a template of outputs only, around a handle moto does not model
        warnings.filterwarnings("ignore", message=".*WaitConditionHandle.*")
        os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        default_user_config.setdefault("batch", {})["use_docker"] = False
        _enforce_iam(False)
        versions.install()  # the stack's StateMachineVersion and alias are provisioned with it
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        import requests

        requests.post(f"{self.endpoint}/moto-api/reset", timeout=30).raise_for_status()

    def session(self) -> Any:
        """A boto3 session with the operator's keys (the account administrator)."""
        import boto3

        return boto3.session.Session(
            aws_access_key_id=OPERATOR_KEYS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=OPERATOR_KEYS["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        )

    def _engine(self, session: Any) -> RehearsalEngine:
        assert self.provisioned is not None and self.synthesized is not None
        folders = self.file_system_folders()
        ensure_mount_points(list(MOUNT_PATHS.values()))
        principals = Principals(ACCOUNT, REGION)
        by_arn = {ap["arn"]: folders[ap["file_system"]] for ap in
                  self.provisioned.access_points.values()}  # fmt: skip
        lambdas = LambdaService(principals, self.endpoint, REGION, by_arn, self.folder)
        batch = BatchService(principals, self.provisioned, self.endpoint, session, folders,
                             self.folder, runtime=self.runtime)  # fmt: skip
        return RehearsalEngine(
            account=ACCOUNT, region=REGION, endpoint=self.endpoint, session=session,
            principals=principals, calls=CallLog(self.folder / "aws-calls.jsonl"),
            lambdas=lambdas, batch=batch, folder=self.folder,
            functions=self.provisioned.functions,
        )  # fmt: skip

    def file_system_folders(self) -> dict[str, Path]:
        """File system id -> the local folder standing for it."""
        assert self.provisioned is not None
        folders = {}
        for fs_id in self.provisioned.file_systems:
            folder = self.folder / "filesystems" / fs_id
            folder.mkdir(parents=True, exist_ok=True)
            folders[fs_id] = folder
        return folders

    def local_path(self, path: str) -> str:
        """A path on the stack's file system, as a path on this machine."""
        assert self.synthesized is not None
        mount = MOUNT_PATHS[self.synthesized.filesystem]
        if not path.startswith(mount + "/"):
            return path
        (folder,) = self.file_system_folders().values()
        return str(folder / path[len(mount) + 1 :])

    def fire_schedules(self) -> list[str]:
        """Start each Scheduler schedule's target once (as its next time would)."""
        assert self.provisioned is not None and self.engine is not None
        started = []
        for schedule in self.provisioned.schedules:
            started.append(self.engine.start_from_service(
                schedule["Arn"], schedule.get("RoleArn"), schedule.get("Input") or "{}",
                "scheduler",
            ))  # fmt: skip
        return started

    def environment(self) -> dict[str, str]:
        """What a shell needs to point wdl2sfn at this account as the CLI user."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION, **self.cli_keys}  # fmt: skip

    def describe(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "region": REGION, "stack": self.stack,
                "folder": str(self.folder), "cli_keys": self.cli_keys}  # fmt: skip

    def close(self) -> None:
        if self.engine is not None:
            try:
                defs = self.engine.batch.registered_definitions()
                (self.folder / "job-definitions.json").write_text(json.dumps(defs, indent=1))
            finally:
                self.engine.close()
                self.engine = None
        hooks.uninstall()
        _enforce_iam(False)
        if self.server is not None:
            self.server.stop()
            self.server = None


def cli_user_keys(session: Any, endpoint: str, outputs: dict[str, str]) -> dict[str, str]:
    """Keys of a new IAM user holding only the stack's CLI policy (its ``CliUserPolicyArn``
    output), so every CLI call is authorized as AWS would authorize a CLI user's."""
    iam = session.client("iam", endpoint_url=endpoint)
    iam.create_user(UserName=CLI_USER)
    iam.attach_user_policy(UserName=CLI_USER, PolicyArn=outputs["CliUserPolicyArn"])
    key = iam.create_access_key(UserName=CLI_USER)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}  # fmt: skip


def _enforce_iam(on: bool) -> None:
    """moto's IAM enforcement, for every request from now on (the hooks exempt the operator)."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if on else float("inf")
    ActionAuthenticatorMixin.request_count = 0
