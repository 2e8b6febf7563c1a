"""Logical IDs are a deployed stack's identity: CloudFormation replaces (deletes and recreates)
any resource whose logical ID changes, so a refactoring of the CDK app must keep them all.

``logical_ids.json`` records each variant's resources (logical ID -> type). If a change there is
deliberate (a new resource, or one you mean to replace on the next deploy), update the file.
"""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Synth

RECORDED = json.loads((Path(__file__).with_name("logical_ids.json")).read_text())


def test_every_resource_keeps_its_recorded_logical_id(any_variant: Synth) -> None:
    resources = {k: v["Type"] for k, v in any_variant.template["Resources"].items()}
    recorded = RECORDED[any_variant.variant]
    renamed = {k: t for k, t in recorded.items() if resources.get(k) != t}
    added = {k: t for k, t in resources.items() if k not in recorded}
    assert (renamed, added) == ({}, {})
