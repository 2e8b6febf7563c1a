"""FSx compute runs in the file system's Availability Zone (issue 20 item 9).

An FSx for Lustre file system lives in one subnet, hence one AZ. Amazon FSx API reference,
CreateFileSystem, SubnetIds: "For Windows SINGLE_AZ_1 and SINGLE_AZ_2 and all Lustre deployment
types, provide exactly one subnet ID. The file server is launched in that subnet's Availability
Zone." Hosts in another AZ would pay inter-AZ transfer on every read and write of the run store;
the trade-off is that Batch finds capacity in that one zone only (docs/aws-backend.md).
"""

from __future__ import annotations

from .conftest import Synth


def test_fsx_compute_environments_launch_hosts_in_the_file_systems_subnet(fsx: Synth) -> None:
    (file_system,) = fsx.resources("AWS::FSx::FileSystem").values()
    fs_subnets = file_system["Properties"]["SubnetIds"]
    for logical, env in fsx.resources("AWS::Batch::ComputeEnvironment").items():
        assert env["Properties"]["ComputeResources"]["Subnets"] == fs_subnets, logical


def test_efs_compute_environments_keep_every_subnet(new_vpc: Synth) -> None:
    for logical, env in new_vpc.resources("AWS::Batch::ComputeEnvironment").items():
        subnets = env["Properties"]["ComputeResources"]["Subnets"]
        assert len(subnets) >= 2, logical
