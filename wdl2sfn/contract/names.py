"""Names the CLI, the AWS backend and the CDK app must agree on: machines, alias, bundle marker.

A workflow deployed by ``wdl2sfn deploy`` and one deployed by the CDK construct must be the same
machine, started through the same alias, with sources init finds by the same marker; so these
live here, not in either deployer.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

MAX_MACHINE_NAME = 80  # state machine (and execution) names
#: The alias every deploy moves and triggers start (docs/aws-backend.md, versions).
ALIAS = "live"
#: The file uploaded last under ``_workflows/<digest>/``: init waits for it.
BUNDLE_MARKER = "bundle.json"
#: The tag the CDK app puts on every resource of its stack (value: the stack's name): a state
#: machine carrying it is managed by CloudFormation, and `wdl2sfn deploy` updating it drifts.
STACK_TAG = "wdl2sfn:stack"


def machine_name(prefix: str, workflow: str, limit: int = MAX_MACHINE_NAME) -> str:
    """`<prefix>-<workflow>` if it fits; else cut and suffixed with 8 hex digits of the full
    name's SHA-256: stable across deploys, and two long names sharing their first 71
    characters (a subworkflow and its caller) never become one machine."""
    full = f"{prefix}-{workflow}" if prefix else workflow
    if len(full) <= limit:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{full[: limit - 9]}-{digest}"


class BundleSource(Protocol):
    """What the marker needs of a compiled workflow (the contract imports no compiler type)."""

    @property
    def main(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def digest(self) -> str: ...


def bundle_marker(compiled: BundleSource) -> dict[str, str]:
    """``bundle.json``: what init reads to find a workflow's sources (uploaded last)."""
    return {"main": compiled.main, "name": compiled.name, "digest": compiled.digest}
