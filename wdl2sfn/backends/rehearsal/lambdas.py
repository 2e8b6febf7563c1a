"""``lambda:invoke`` as AWS does it: the function's configuration, role and file system.

Each function is read from moto (GetFunctionConfiguration: its ``Environment``, ``Role``,
``FileSystemConfigs``, ``Timeout``, all as the template declared them). An invocation runs the
handler in a warm worker process (:mod:`.lambda_runtime`) started in the function's sandbox:
exactly the function's environment plus the variables Lambda itself sets, the role's keys (STS
AssumeRole in moto), moto's endpoint, and each ``FileSystemConfigs`` mount path bound to the
folder standing for that file system. Workers are kept between invocations, one per concurrent
invocation, as Lambda keeps execution environments.
"""

from __future__ import annotations

import json
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .iam import Principals
from .sandbox import launcher, write_spec


@dataclass
class FunctionConfig:
    name: str
    arn: str
    role_arn: str
    environment: dict[str, str]
    mounts: list[tuple[str, str]]  # (access point or file system ARN, local mount path)
    timeout: int
    handler: str

    @classmethod
    def from_template(cls, props: dict[str, Any]) -> FunctionConfig:
        """From the function's resolved template properties (what CloudFormation deployed)."""
        command = props.get("ImageConfig", {}).get("Command") or [props.get("Handler") or ""]
        return cls(
            name=props["FunctionName"],
            arn=props["FunctionArn"],
            role_arn=props["Role"],
            environment=dict(props.get("Environment", {}).get("Variables", {})),
            mounts=[(m["Arn"], m["LocalMountPath"]) for m in props.get("FileSystemConfigs", [])],
            timeout=int(props.get("Timeout", 3)),
            handler=command[0],
        )


class FunctionError(Exception):
    """The handler raised: ``payload`` is the Lambda error payload."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("errorMessage", ""))
        self.payload = payload


class LambdaTimeout(Exception):
    """The invocation ran past the function's Timeout."""


@dataclass
class _Worker:
    process: subprocess.Popen[str]
    lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, event: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(event) + "\n")
        self.process.stdin.flush()
        answer: list[str] = []
        reader = threading.Thread(target=lambda: answer.append(_readline(self.process.stdout)))
        reader.start()
        reader.join(timeout)
        if reader.is_alive() or not answer or not answer[0]:
            self.process.kill()
            if reader.is_alive():
                raise LambdaTimeout(f"Task timed out after {timeout:.2f} seconds")
            raise FunctionError(
                {
                    "errorMessage": "Runtime exited without providing a reason",
                    "errorType": "Runtime.ExitError",
                    "stackTrace": [],
                }  # fmt: skip
            )
        return dict(json.loads(answer[0]))


def _readline(stream: IO[str] | None) -> str:
    return stream.readline() if stream is not None else ""


class LambdaService:
    """Warm workers per function; the folder binds say which local folder is which file system."""

    def __init__(
        self,
        principals: Principals,
        endpoint: str,
        region: str,
        file_systems: dict[str, Path],
        folder: Path,
    ) -> None:
        self.principals = principals
        self.endpoint = endpoint
        self.region = region
        self.file_systems = file_systems  # access point or file system ARN -> local folder
        self.folder = folder
        self._idle: dict[str, list[_Worker]] = {}
        self._all: list[_Worker] = []
        self._lock = threading.Lock()

    def invoke(self, function: FunctionConfig, event: dict[str, Any]) -> Any:
        """The function's response; FunctionError / LambdaTimeout as Lambda reports them."""
        worker = self._take(function)
        try:
            answer = worker.invoke(event, function.timeout)
        except Exception:
            self._drop(worker)
            raise
        self._give_back(function, worker)
        if "error" in answer:
            raise FunctionError(answer["error"])
        return answer["result"]

    def _take(self, function: FunctionConfig) -> _Worker:
        with self._lock:
            idle = self._idle.setdefault(function.arn, [])
            while idle:
                worker = idle.pop()
                if worker.process.poll() is None:
                    return worker
        return self._start(function)

    def _give_back(self, function: FunctionConfig, worker: _Worker) -> None:
        with self._lock:
            self._idle.setdefault(function.arn, []).append(worker)

    def _drop(self, worker: _Worker) -> None:
        if worker.process.poll() is None:
            worker.process.kill()

    def _start(self, function: FunctionConfig) -> _Worker:
        creds = self.principals.credentials(function.role_arn, f"lambda-{function.name}")
        env = {
            **function.environment,
            **creds.environment(),
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout),
            "_HANDLER": function.handler,
            "LAMBDA_TASK_ROOT": "/var/task",
        }
        binds = [(str(self.local_folder(arn)), path, False) for arn, path in function.mounts]
        with self._lock:
            n = len(self._all)
        spec = write_spec(self.folder / "specs" / f"{function.name}-{n}.json", binds, env,
                          keep=[])  # fmt: skip
        log_path = self.folder / "lambda-logs" / f"{function.name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "a")  # noqa: SIM115 - the worker owns it for its life
        process = subprocess.Popen(
            launcher(spec, ["python", "-m", "wdl2sfn.backends.rehearsal.lambda_runtime"]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            bufsize=1,
        )
        worker = _Worker(process)
        with self._lock:
            self._all.append(worker)
        return worker

    def local_folder(self, arn: str) -> Path:
        """The folder standing for an EFS access point (or file system) ARN."""
        for key, folder in self.file_systems.items():
            if arn == key or arn.endswith("/" + key):
                return folder
        raise KeyError(f"no local folder stands for file system {arn}")

    def close(self) -> None:
        with self._lock:
            workers, self._all = self._all, []
            self._idle.clear()
        for worker in workers:
            if worker.process.poll() is None:
                if worker.process.stdin is not None:
                    worker.process.stdin.close()
                try:
                    worker.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    worker.process.kill()
