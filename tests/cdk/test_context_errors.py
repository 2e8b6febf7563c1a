"""Context keys that cannot work together are refused at synth, naming both keys (issue 20 item
15): a subnet or a security group belongs to one VPC, so neither means anything without the
``vpc_id`` of the VPC it is in.

AWS Lambda API reference, VpcConfig: "If your Lambda function accesses resources in a VPC, you
provide this parameter identifying the list of security group IDs and subnet IDs. These must
belong to the same VPC." A new VPC (``variant=new-vpc``, or ``variant=fsx`` without ``vpc_id``)
does not exist before the stack creates it, so a given subnet or security group is always of
another VPC.
"""

from __future__ import annotations

import pytest
from wdl2sfn_cdk import ConfigError, load_config

SUBNETS = "subnet-0aaaaaaaaaaaaaaa1,subnet-0bbbbbbbbbbbbbbb2"


def test_fsx_with_subnet_ids_but_no_vpc_id_names_both_keys() -> None:
    with pytest.raises(ConfigError, match=r"'subnet_ids'.*'vpc_id'"):
        load_config({"variant": "fsx", "subnet_ids": SUBNETS})


@pytest.mark.parametrize("variant", ["new-vpc", "fsx"])
def test_a_security_group_without_vpc_id_names_both_keys(variant: str) -> None:
    with pytest.raises(ConfigError, match=r"'security_group_id'.*'vpc_id'"):
        load_config({"variant": variant, "security_group_id": "sg-0123456789abcdef0"})


def test_fsx_in_an_existing_vpc_keeps_its_subnets_and_group() -> None:
    config = load_config(
        {
            "variant": "fsx",
            "vpc_id": "vpc-1",
            "subnet_ids": SUBNETS,
            "security_group_id": "sg-1",
            "endpoints": "false",
        }
    )
    assert config.subnet_ids == tuple(SUBNETS.split(",")) and config.security_group_id == "sg-1"
