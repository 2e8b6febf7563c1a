"""AWS Step Functions quotas enforced by the local executor (DESIGN invariant 3).

The numbers are the Standard-workflow hard quotas from the AWS "Step Functions service quotas"
page: 256 KiB per state input/output (UTF-8 bytes of the JSON text), 25,000 history events per
execution, 1 MB (1,048,576 bytes) per definition. When the history quota is hit AWS writes event
number 25,000 as ``ExecutionFailed`` with ``States.Runtime`` and the cause below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .errors import DATA_LIMIT_EXCEEDED, RUNTIME, DefinitionError, StatesError


@dataclass
class Quotas:
    """The limits an execution is held to (defaults: the AWS Standard workflow quotas)."""

    payload_bytes: int = 262_144
    history_events: int = 25_000
    definition_bytes: int = 1_048_576


def history_limit_cause(limit: int) -> str:
    """The cause AWS reports when an execution reaches the history quota."""
    return f"The execution reached the maximum number of history events ({limit})."


def history_limit_error(limit: int) -> StatesError:
    """The error an execution fails with at the history quota (States.Runtime, as on AWS)."""
    return StatesError(RUNTIME, history_limit_cause(limit))


def to_json(value: Any) -> str:
    """Compact JSON text of a payload, as Step Functions stores and measures it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def payload_size(text: str) -> int:
    """Size in bytes of a payload's JSON text (UTF-8), the unit of the 256 KiB quota."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8"))


def check_payload(text: str, quotas: Quotas, state_name: str) -> None:
    """Raise States.DataLimitExceeded when a state's payload is over the quota."""
    if payload_size(text) > quotas.payload_bytes:
        raise StatesError(
            DATA_LIMIT_EXCEEDED,
            f"The state/task '{state_name}' returned a result with a size exceeding "
            "the maximum number of bytes service limit.",
        )


def check_definition_size(text: str, quotas: Quotas) -> None:
    """Reject a definition larger than the 1 MB quota, naming its size."""
    size = payload_size(text)
    if size > quotas.definition_bytes:
        raise DefinitionError(
            f"state machine definition is {size} bytes, over the Step Functions quota of "
            f"{quotas.definition_bytes} bytes"
        )
