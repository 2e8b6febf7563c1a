"""An existing VPC with endpoints: the S3 gateway endpoint needs the subnets' route tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from wdl2sfn_cdk import app as app_mod
from wdl2sfn_cdk import compile as compile_mod
from wdl2sfn_cdk.config import ConfigError, load_config

from .conftest import EXISTING_VPC, compile_for_tests

WITH_ENDPOINTS = {**EXISTING_VPC, "endpoints": "true"}


def test_endpoints_in_an_existing_vpc_without_route_tables_are_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="route_table_ids"):
        load_config(WITH_ENDPOINTS)


def test_route_tables_must_be_one_per_subnet_or_one_for_all() -> None:
    with pytest.raises(ConfigError, match="one route table per subnet"):
        load_config({**WITH_ENDPOINTS, "route_table_ids": "rtb-1,rtb-2,rtb-3"})


def test_an_existing_vpc_gets_its_s3_gateway_endpoint_on_the_given_route_tables(
    tmp_path: Path,
) -> None:
    context = {**WITH_ENDPOINTS, "route_table_ids": "rtb-0aaaaaaaaaaaaaaa1,rtb-0bbbbbbbbbbbbbbb2"}
    saved = compile_mod.compile_wdl
    compile_mod.compile_wdl = compile_for_tests
    try:
        app, stack = app_mod.build_app(context, outdir=str(tmp_path))
        app_mod.synth(app)
    finally:
        compile_mod.compile_wdl = saved
    template = json.loads((tmp_path / f"{stack.stack_name}.template.json").read_text())
    endpoints = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::EC2::VPCEndpoint"
    ]
    (gateway,) = [e for e in endpoints if e.get("VpcEndpointType", "Gateway") == "Gateway"]
    assert gateway["RouteTableIds"] == ["rtb-0aaaaaaaaaaaaaaa1", "rtb-0bbbbbbbbbbbbbbb2"]
    assert len(endpoints) == 10
