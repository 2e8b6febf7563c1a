"""The resource ARNs AWS authorizes a request against, read from the request as IAM would.

An action without resource-level permissions is checked against ``*``; one with them, against the
ARNs its request names. Naming too few here would let the rehearsal say yes where AWS says no, so
each service's actions are mapped from the Service Authorization Reference's "Resource types"
column (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
for Step Functions).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

# Step Functions request fields that name the resource the action is on.
STATES_ARN_FIELDS = ("executionArn", "stateMachineArn", "mapRunArn", "stateMachineAliasArn",
                     "stateMachineVersionArn", "resourceArn")  # fmt: skip


def request_resources(
    base: str, service: str, action: str, params: dict[str, Any], path: str
) -> list[str]:
    """The ARNs an action's IAM check names (``*`` for actions without resource-level rules).
    ``base`` is ``<region>:<account>``."""
    if service == "states":
        return _states_resources(base, action, params)
    if service == "batch":
        return _batch_resources(base, action, params)
    if service == "lambda" and "/functions/" in path:
        name = unquote(path.split("/functions/", 1)[1].split("/", 1)[0])
        return [name if name.startswith("arn:") else f"arn:aws:lambda:{base}:function:{name}"]
    if service in ("iam", "sts") and params.get("RoleArn"):
        return [str(params["RoleArn"])]
    if service == "cloudformation" and params.get("StackName"):
        return [f"arn:aws:cloudformation:{base}:stack/{params['StackName']}/*"]
    if service == "logs" and params.get("logGroupName"):
        return [f"arn:aws:logs:{base}:log-group:{params['logGroupName']}:*"]
    return ["*"]


def _states_resources(base: str, action: str, params: dict[str, Any]) -> list[str]:
    """The named execution, machine, version, alias or Map Run; CreateStateMachineAlias is on the
    alias it creates and the versions it routes to (its request names no alias ARN)."""
    if action == "CreateStateMachineAlias":
        versions = [str(r["stateMachineVersionArn"]) for r in
                    params.get("routingConfiguration") or [] if r.get("stateMachineVersionArn")]  # fmt: skip
        if versions and params.get("name"):
            machine = versions[0].rsplit(":", 1)[0]
            return [f"{machine}:{params['name']}", *versions]
    for key in STATES_ARN_FIELDS:
        if params.get(key):
            return [str(params[key])]
    if action == "CreateStateMachine" and params.get("name"):
        return [f"arn:aws:states:{base}:stateMachine:{params['name']}"]
    return ["*"]


def _batch_resources(base: str, action: str, params: dict[str, Any]) -> list[str]:
    if action in ("SubmitJob", "submitjob"):
        queue = str(params.get("jobQueue", ""))
        jobdef = str(params.get("jobDefinition", ""))
        return [
            queue if queue.startswith("arn:") else f"arn:aws:batch:{base}:job-queue/{queue}",
            jobdef
            if jobdef.startswith("arn:")
            else f"arn:aws:batch:{base}:job-definition/{jobdef}",
        ]
    if action in ("RegisterJobDefinition", "registerjobdefinition"):
        return [f"arn:aws:batch:{base}:job-definition/{params.get('jobDefinitionName', '')}"]
    if action in ("TerminateJob", "terminatejob") and params.get("jobId"):
        return [f"arn:aws:batch:{base}:job/{params['jobId']}"]
    return ["*"]
