"""cdk-nag acknowledgments: each names its rule and says why the finding is accepted."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def ack(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on ``scope`` (and everything under it), with its reason."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))
