"""Batch hosts: a launch template change reaches existing stacks, and a host whose boot fails
(the FSx mount above all) leaves service (issue 20 items 7 and 8).

AWS Batch API reference, LaunchTemplateSpecification
(https://docs.aws.amazon.com/batch/latest/APIReference/API_LaunchTemplateSpecification.html):
"During an infrastructure update, if either $Latest or $Default is specified, AWS Batch
re-evaluates the launch template version, and it might use a different version of the launch
template." and "When updating a compute environment, changing the launch template requires an
infrastructure update of the compute environment." AWS Batch user guide, "Perform
infrastructure updates" (https://docs.aws.amazon.com/batch/latest/userguide/infrastructure-updates.html):
"Infrastructure updates replace the instances in your compute environment with new instances
that have updated settings." Without a version in the template, a user-data change leaves the
compute environment's properties as they were: CloudFormation updates nothing, no host changes.
"""

from __future__ import annotations

import json

from .conftest import Synth


def test_ec2_compute_environments_name_their_launch_templates_latest_version(fsx: Synth) -> None:
    environments = fsx.resources("AWS::Batch::ComputeEnvironment")
    assert len(environments) == 4
    for logical, env in environments.items():
        launch = env["Properties"]["ComputeResources"]["LaunchTemplate"]
        template = launch["LaunchTemplateId"]["Ref"]
        assert launch["Version"] == {"Fn::GetAtt": [template, "LatestVersionNumber"]}, logical


def test_compute_environments_update_in_place_so_a_new_version_rolls_the_hosts(
    fsx: Synth,
) -> None:
    for env in fsx.resources("AWS::Batch::ComputeEnvironment").values():
        assert env["Properties"]["ReplaceComputeEnvironment"] is False
        strategy = env["Properties"]["ComputeResources"]["AllocationStrategy"]
        assert strategy in ("BEST_FIT_PROGRESSIVE", "SPOT_CAPACITY_OPTIMIZED")


def test_a_host_whose_boot_step_fails_shuts_down_and_is_terminated(fsx: Synth) -> None:
    """Amazon EC2 user guide, "Change instance initiated shutdown behavior"
    (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_ChangingInstanceInitiatedShutdownBehavior.html):
    "By default, when you initiate a shutdown from an Amazon EBS backed instance (using a command
    such as shutdown or poweroff), the instance stops. You can change this behavior so that the
    instance terminates instead by changing the InstanceInitiatedShutdownBehavior attribute for
    the instance." Batch then launches another host for the RUNNABLE jobs. The user data's ERR trap shuts the host down before
    the ECS agent can take a job onto an empty mount."""
    for template in fsx.resources("AWS::EC2::LaunchTemplate").values():
        data = template["Properties"]["LaunchTemplateData"]
        assert data["InstanceInitiatedShutdownBehavior"] == "terminate"
        user_data = json.dumps(data["UserData"])
        trap = user_data.index("trap ")
        assert "shutdown -h now" in user_data[trap : user_data.index("\\n", trap)]
        assert trap < user_data.index("mount -t lustre")
