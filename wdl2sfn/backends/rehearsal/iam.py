"""Who may do what: role credentials and policy evaluation, with moto's own evaluator.

Requests to moto's server signed with a role's keys are checked by moto (its IAM enforcement,
made resource-aware by :mod:`.hooks`); what never reaches moto as a request (Step Functions'
service integrations, an NFS client mounting EFS, ``iam:PassRole``) is evaluated here with
``moto.iam.access_control.IAMPolicy`` over the same policies. No second evaluator is written.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

PARTITION = "aws"


@dataclass(frozen=True)
class Credentials:
    """Temporary keys of one assumed role (STS AssumeRole in moto)."""

    role_arn: str
    access_key_id: str
    secret_access_key: str
    session_token: str

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]

    def environment(self) -> dict[str, str]:
        """The variables the AWS SDKs read (as Lambda and ECS hand them to code)."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


class Principals:
    """Assumes roles in moto (once per role) and evaluates their identity policies."""

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region
        self._creds: dict[str, Credentials] = {}
        self._lock = threading.Lock()

    def credentials(self, role_arn: str, session: str = "wdl2sfn-rehearsal") -> Credentials:
        """Keys for ``role_arn``, as the service that uses the role would obtain them."""
        from moto.sts.models import sts_backends

        with self._lock:
            found = self._creds.get(role_arn)
            if found is None:
                assumed = sts_backends[self.account][PARTITION].assume_role(
                    region_name=self.region,
                    role_session_name=session,
                    role_arn=role_arn,
                    policy="",
                    duration=43200,
                    external_id="",
                )
                found = Credentials(
                    role_arn,
                    assumed.access_key_id,
                    assumed.secret_access_key,
                    assumed.session_token,
                )
                self._creds[role_arn] = found
            return found

    def policies(self, role_name: str) -> list[str]:
        """The role's identity policies: inline ones and attached managed ones."""
        from moto.iam.models import iam_backends

        role = iam_backends[self.account][PARTITION].get_role(role_name)
        docs = [_text(doc) for doc in role.policies.values()]
        for managed in role.managed_policies.values():
            default = next(v for v in managed.versions if v.is_default)
            docs.append(_text(default.document))
        return docs

    def allowed(
        self,
        role_name: str,
        action: str,
        resource: str,
        conditions: dict[str, str] | None = None,
        resource_policies: tuple[str, ...] = (),
    ) -> bool:
        """An explicit deny anywhere wins; else an allow in an identity or resource policy."""
        docs = [*self.policies(role_name), *resource_policies]
        return evaluate(docs, action, resource, conditions)


def evaluate(
    docs: list[str], action: str, resource: str, conditions: dict[str, str] | None = None
) -> bool:
    """IAM's rule over moto's statement evaluator, one statement at a time: moto answers DENIED
    for an Allow statement whose condition does not hold, where IAM just skips the statement."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    permitted = False
    for statement in (s for doc in docs for s in _statements(doc)):
        single = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        result = IAMPolicy(single).is_action_permitted(
            action, resource, incoming_condition_values=conditions or {}
        )
        if result == PermissionResult.DENIED and statement.get("Effect") == "Deny":
            return False
        permitted = permitted or result == PermissionResult.PERMITTED
    return permitted


def _statements(doc: str) -> list[dict[str, Any]]:
    statements = json.loads(doc).get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _text(doc: Any) -> str:
    return doc if isinstance(doc, str) else json.dumps(doc)


def access_denied(principal: str, action: str, resource: str) -> str:
    """The message AWS returns for an unauthorized call."""
    return (
        f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
        "because no identity-based policy allows the action"
    )
