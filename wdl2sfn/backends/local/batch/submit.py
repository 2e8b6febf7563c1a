"""SubmitJob: a request (boto3's camelCase) checked as Batch checks it and turned into a job.

Errors are the ClientException Step Functions reports (Batch.ClientException), raised in the
order Batch would meet them: names, queue, job definition, command, environment, resources,
retry strategy, timeout, image.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .admission import Need, parse_need
from .api import ARN_PREFIX, NAME_PATTERN, client_exception, now_ms
from .records import Job


@dataclass
class Submission:
    """A job ready to run: its description, what it holds while running, what it runs."""

    job: Job
    need: Need
    command: list[str]
    environment: dict[str, str]


def parse_submission(
    req: dict[str, Any],
    queues: Mapping[str, str],
    find_definition: Callable[[str], dict[str, Any] | None],
    host: bool,
) -> Submission:
    """`req` as a job on one of `queues` (name -> ARN); `host`: no image is needed."""
    _check_request(req, queues)
    jd = find_definition(req["jobDefinition"])
    if jd is None:
        raise client_exception(
            f"SubmitJob: job definition {req['jobDefinition']!r} not found or not ACTIVE"
        )
    props = jd.get("containerProperties") or {}
    overrides = req.get("containerOverrides") or {}
    parameters = {**(jd.get("parameters") or {}), **(req.get("parameters") or {})}
    command = _command(props, overrides, parameters)
    environment = _environment(props, overrides)
    resources = _resources(props, overrides)
    need = parse_need(resources)
    retry = _retry_strategy(req, jd)
    duration = _attempt_duration(req, jd)
    image = props.get("image")
    if not host and not image:
        raise client_exception(f"SubmitJob: job definition {jd['jobDefinitionArn']} has no image")
    job_id = str(uuid.uuid4())
    desc: dict[str, Any] = {
        "jobArn": f"{ARN_PREFIX}:job/{job_id}",
        "jobName": req["jobName"],
        "jobId": job_id,
        "jobQueue": queues[req["jobQueue"].rsplit("/", 1)[-1]],
        "status": "SUBMITTED",
        "attempts": [],
        "createdAt": now_ms(),
        "retryStrategy": retry,
        "dependsOn": [],
        "jobDefinition": jd["jobDefinitionArn"],
        "parameters": parameters,
        "container": _container(props, image, command, environment, resources),
        "tags": {**(jd.get("tags") or {}), **(req.get("tags") or {})},
        "propagateTags": bool(req.get("propagateTags", jd.get("propagateTags", False))),
        "platformCapabilities": list(jd.get("platformCapabilities") or ["EC2"]),
    }
    if duration is not None:
        desc["timeout"] = {"attemptDurationSeconds": duration}
    return Submission(Job(desc), need, command, environment)


def _check_request(req: dict[str, Any], queues: Mapping[str, str]) -> None:
    for key in ("jobName", "jobQueue", "jobDefinition"):
        if not isinstance(req.get(key), str) or not req[key]:
            raise client_exception(f"SubmitJob: {key[0].upper() + key[1:]} is required")
    name = req["jobName"]
    if not re.fullmatch(NAME_PATTERN, name):
        raise client_exception(
            f"SubmitJob: JobName {name!r} is invalid (up to 128 letters, numbers, hyphens "
            f"and underscores, starting with a letter or number)"
        )
    if req.get("arrayProperties"):
        raise client_exception("SubmitJob: array jobs are not supported by the local Batch")
    if req.get("dependsOn"):
        raise client_exception("SubmitJob: DependsOn is not supported by the local Batch")
    if req["jobQueue"].rsplit("/", 1)[-1] not in queues:
        raise client_exception(
            f"SubmitJob: job queue {req['jobQueue']!r} not found (local Batch queues: "
            f"{', '.join(sorted(queues))})"
        )


def _command(
    props: Mapping[str, Any], overrides: Mapping[str, Any], parameters: Mapping[str, Any]
) -> list[str]:
    """The command, its Ref::name placeholders replaced by the job's parameters."""
    command = overrides.get("command", props.get("command"))
    if not command or not isinstance(command, list):
        raise client_exception("SubmitJob: no Command in ContainerOverrides or job definition")
    if not all(isinstance(c, str) for c in command):
        raise client_exception("SubmitJob: Command must be a list of strings")
    return [
        str(parameters[c[5:]]) if c.startswith("Ref::") and c[5:] in parameters else c
        for c in command
    ]


def _environment(props: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, str]:
    """The definition's environment, then the overrides', then what Step Functions adds."""
    environment: dict[str, str] = {}
    for source in (props.get("environment") or [], overrides.get("environment") or []):
        for item in source:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise client_exception("SubmitJob: Environment entries need a Name")
            if item["name"].startswith("AWS_BATCH"):
                raise client_exception(
                    f"SubmitJob: environment variable {item['name']!r}: names starting with "
                    f"AWS_BATCH are reserved"
                )
            environment[item["name"]] = str(item.get("value", ""))
    # Step Functions adds this to every job it starts with .sync
    environment["MANAGED_BY_AWS"] = "STARTED_BY_STEP_FUNCTIONS"
    return environment


def _resources(props: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, str]:
    """ResourceRequirements (type -> value): the legacy vcpus/memory, the definition's, the
    overrides'."""
    resources: dict[str, str] = {}
    if "vcpus" in props:
        resources["VCPU"] = str(props["vcpus"])
    if "memory" in props:
        resources["MEMORY"] = str(props["memory"])
    for source in (
        props.get("resourceRequirements") or [],
        overrides.get("resourceRequirements") or [],
    ):
        for item in source:
            rtype, value = item.get("type"), item.get("value")
            if rtype not in ("VCPU", "MEMORY", "GPU"):
                raise client_exception(f"SubmitJob: unsupported resource type {rtype!r}")
            if not isinstance(value, str):
                raise client_exception(
                    f"SubmitJob: ResourceRequirements {rtype} Value must be a string, not {value!r}"
                )
            resources[rtype] = value
    return resources


def _retry_strategy(req: Mapping[str, Any], jd: Mapping[str, Any]) -> dict[str, Any]:
    """The RetryStrategy as the job description shows it (attempts, evaluateOnExit if any)."""
    retry = req.get("retryStrategy", jd.get("retryStrategy")) or {}
    attempts = retry.get("attempts", 1)
    if not isinstance(attempts, int) or not 1 <= attempts <= 10:
        raise client_exception(
            f"SubmitJob: RetryStrategy Attempts must be an integer from 1 to 10, not {attempts!r}"
        )
    rules = retry.get("evaluateOnExit") or []
    if len(rules) > 5:
        raise client_exception("SubmitJob: RetryStrategy allows at most 5 EvaluateOnExit")
    for rule in rules:
        if str(rule.get("action", "")).upper() not in ("RETRY", "EXIT"):
            raise client_exception(
                f"SubmitJob: EvaluateOnExit Action must be RETRY or EXIT: {rule!r}"
            )
    return {"attempts": attempts, **({"evaluateOnExit": rules} if rules else {})}


def _attempt_duration(req: Mapping[str, Any], jd: Mapping[str, Any]) -> float | None:
    """Timeout.attemptDurationSeconds (values under AWS's 60 s minimum are accepted locally,
    so tests stay fast)."""
    timeout = req.get("timeout", jd.get("timeout")) or {}
    duration = timeout.get("attemptDurationSeconds")
    if duration is not None and (not isinstance(duration, int | float) or duration <= 0):
        raise client_exception(f"SubmitJob: invalid Timeout AttemptDurationSeconds {duration!r}")
    return duration


def _container(
    props: Mapping[str, Any],
    image: str | None,
    command: list[str],
    environment: Mapping[str, str],
    resources: Mapping[str, str],
) -> dict[str, Any]:
    """The description's Container member before the job runs."""
    return {
        "image": image or "",
        "command": command,
        "volumes": copy.deepcopy(props.get("volumes") or []),
        "environment": [{"name": k, "value": v} for k, v in environment.items()],
        "mountPoints": copy.deepcopy(props.get("mountPoints") or []),
        "ulimits": [],
        "resourceRequirements": [{"type": t, "value": v} for t, v in resources.items()],
        "networkInterfaces": [],
    }
