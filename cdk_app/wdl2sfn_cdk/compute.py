"""Compute: AWS Batch. Launch templates (instance storage as scratch, the file system mounted
when hosts mount it), four compute environments and their queues (CPU on-demand, CPU spot, GPU,
runner) and the runner job definition (upload; with FSx also every run-time step).

Not a construct of its own: its resources stay children of the stack, so their logical IDs and
the launch templates' names (which CDK derives from construct paths) are the ones they always had.
"""

from __future__ import annotations

from typing import Any, cast

from aws_cdk import CfnResource, Duration, Size, Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam

from .access import (
    JOB_DEFINITION_PREFIX,
    Roles,
    acknowledge_registrar,
    acknowledge_unscoped_actions,
    grant_answer_joins,
    grant_register_job_definitions,
)
from .config import Config
from .nag import ack
from .network import Network
from .runtime import SCRATCH
from .sizing import RUNNER_MIN_VCPUS, runner_vcpus
from .storage import EfsFileSystem, SharedFileSystem

# Instance types used for each Batch compute environment.
GPU_CLASSES = (ec2.InstanceClass.G4DN, ec2.InstanceClass.G5, ec2.InstanceClass.G6)
RUNNER_TYPES = ("m6i.large", "m6i.xlarge", "c6i.xlarge")
ECS_INSTANCE_POLICY = "service-role/AmazonEC2ContainerServiceforEC2Role"
RUNNER_COMMAND = ["python", "-m", "wdl2sfn.task_runner", "upload"]
# A job no compute environment can ever run (more vCPUs than max vCPUs, or than any allowed
# instance type has) is cancelled after AWS's minimum 10 minutes; one waiting for capacity after
# 4 hours (AWS's own example). The job then FAILS, its state fails, and the run says why.
_CANCEL, _RUNNABLE = (
    batch.JobStateTimeLimitActionsAction.CANCEL,
    batch.JobStateTimeLimitActionsState.RUNNABLE,
)
RUNNABLE_LIMITS = [
    batch.JobStateTimeLimitAction(
        action=_CANCEL, max_time=Duration.minutes(10), reason=reason, state=_RUNNABLE
    )
    for reason in (
        batch.JobStateTimeLimitActionsReason.COMPUTE_ENVIRONMENT_MAX_RESOURCE,
        batch.JobStateTimeLimitActionsReason.JOB_RESOURCE_REQUIREMENT,
    )
] + [
    batch.JobStateTimeLimitAction(
        action=_CANCEL,
        max_time=Duration.hours(4),
        reason=batch.JobStateTimeLimitActionsReason.INSUFFICIENT_INSTANCE_CAPACITY,
        state=_RUNNABLE,
    )
]
BOOT_FAILURE_TRAP = (
    'trap \'echo "wdl2sfn: boot step failed at line $LINENO: shutting down" >&2;'
    " systemctl stop ecs || true; shutdown -h now' ERR"
)


def user_data_commands(mount_commands: list[str]) -> list[str]:
    """What every Batch host runs at boot: instance storage as one scratch volume, image pulls
    once per host, then the shared file system's mount commands (if the hosts mount it)."""
    return [
        "set -euxo pipefail",
        "exec > >(tee -a /var/log/wdl2sfn-user-data.log) 2>&1",
        # a failed boot step (the FSx mount above all) takes the host out of service before the
        # ECS agent starts: jobs would otherwise run against an empty mount point. The launch
        # template's shutdown behaviour terminates it; Batch launches another for the queue.
        BOOT_FAILURE_TRAP,
        # NVMe instance store (e.g. g4dn, c6id): one RAID0 XFS volume at /mnt/scratch, which
        # task job definitions may bind for temporary files (WDL2SFN_SCRATCH).
        f"mkdir -p {SCRATCH}",
        "devs=$(ls /dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_* 2>/dev/null"
        " | grep -v -- '-part' | xargs -r -n1 readlink -f | sort -u || true)",
        'if [ -n "$devs" ]; then',
        "  n=$(echo $devs | wc -w)",
        '  if [ "$n" -gt 1 ]; then dnf install -y mdadm;'
        " mdadm --create /dev/md0 --level=0 --raid-devices=$n $devs --force --run;"
        " dev=/dev/md0; else dev=$devs; fi",
        f"  mkfs.xfs -f $dev && mount -o noatime $dev {SCRATCH}",
        "fi",
        f"chmod 1777 {SCRATCH}",
        # pull each task image once per instance, not once per job (Docker Hub's
        # anonymous pull limit is per IP, and every instance is behind one NAT address)
        "echo ECS_IMAGE_PULL_BEHAVIOR=once >> /etc/ecs/ecs.config",
        *mount_commands,
    ]


class Compute:
    """``instance_role``, ``launch_template`` and ``gpu_launch_template``,
    ``compute_environments`` and ``queues`` (keys cpu, spot, gpu, runner) and
    ``runner_job_definition``."""

    def __init__(
        self,
        stack: Stack,
        config: Config,
        *,
        network: Network,
        file_system: SharedFileSystem,
        roles: Roles,
        image: ecr_assets.DockerImageAsset,
        environment: dict[str, str],
    ) -> None:
        self.stack = stack
        self.config = config
        self.network = network
        self.file_system = file_system
        self.roles = roles
        self.instance_role = self._instance_role()
        if isinstance(file_system, EfsFileSystem):
            # tasks mount EFS through their job definitions (IAM authorization, job role)
            file_system.efs.grant_root_access(roles.job_role)
        self.launch_template = self._launch_template("Compute")
        self.gpu_launch_template = self._launch_template("Gpu")
        self.compute_environments = self._environments()
        self.queues = {
            key: batch.JobQueue(
                stack,
                f"{key.capitalize()}Queue",
                compute_environments=[
                    batch.OrderedComputeEnvironment(compute_environment=env, order=1)
                ],
                priority=10 if key == "runner" else 1,
                job_state_time_limit_actions=RUNNABLE_LIMITS,
            )
            for key, env in self.compute_environments.items()
        }
        self.runner_job_definition = self._runner_job_definition(image, environment)
        self._acknowledge()

    def _instance_role(self) -> iam.Role:
        """ECS instance role: the ECS agent's managed policy (the hosts mount FSx themselves)."""
        return iam.Role(
            self.stack,
            "BatchInstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(ECS_INSTANCE_POLICY)],
            description="wdl2sfn Batch EC2 instances (ECS agent, file system mount)",
        )

    def _launch_template(self, name: str) -> ec2.LaunchTemplate:
        """A launch template whose user data (MIME multi-part, as Batch requires) mounts the
        shared file system at the task runner's path and puts instance storage to use."""
        script = ec2.UserData.for_linux()
        script.add_commands(*user_data_commands(self.file_system.mount_commands))
        multipart = ec2.MultipartUserData()
        multipart.add_user_data_part(script, ec2.MultipartBody.SHELL_SCRIPT, True)
        root_volume = ec2.BlockDeviceVolume.ebs(
            100, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3, delete_on_termination=True
        )
        return ec2.LaunchTemplate(
            self.stack,
            f"{name}LaunchTemplate",
            user_data=multipart,
            require_imdsv2=True,
            # Task containers get their job role from the ECS agent, never the instance role.
            http_put_response_hop_limit=1,
            block_devices=[ec2.BlockDevice(device_name="/dev/xvda", volume=root_volume)],
            instance_initiated_shutdown_behavior=ec2.InstanceInitiatedShutdownBehavior.TERMINATE,
        )

    def _ec2_environment(self, construct_id: str, **props: Any) -> batch.IComputeEnvironment:
        """A managed EC2 environment in the stack's subnets and compute group, scaling to 0.
        Its launch template is named with its version: a user-data change then changes the
        environment's properties, and Batch rolls the hosts (an infrastructure update); with
        ``$Default`` (what no version means) CloudFormation would see nothing to update."""
        environment = batch.ManagedEc2EcsComputeEnvironment(
            self.stack,
            construct_id,
            vpc=self.network.vpc,
            vpc_subnets=self._host_subnets(),
            security_groups=[self.network.compute_sg],
            instance_role=self.instance_role,
            update_to_latest_image_version=True,
            replace_compute_environment=False,
            minv_cpus=0,
            **props,
        )
        template: ec2.LaunchTemplate = props["launch_template"]
        cfn = cast(batch.CfnComputeEnvironment, environment.node.default_child)
        cfn.add_property_override(
            "ComputeResources.LaunchTemplate.Version", template.latest_version_number
        )
        return environment

    def _host_subnets(self) -> ec2.SubnetSelection:
        """EC2 hosts go where the files are. An FSx for Lustre file system lives in one subnet
        (one AZ), and a host in another AZ would pay inter-AZ transfer on every read and write of
        the run store and lose its files with that AZ anyway; the price is that Batch finds
        capacity in that one zone only (docs/aws-backend.md). EFS has a mount target per
        subnet, so its hosts keep every subnet."""
        if isinstance(self.file_system, EfsFileSystem):
            return self.network.subnets
        return ec2.SubnetSelection(subnets=[self.network.first_subnet()])

    def _environments(self) -> dict[str, batch.IComputeEnvironment]:
        cfg = self.config
        al2023 = [batch.EcsMachineImage(image_type=batch.EcsMachineImageType.ECS_AL2023)]
        nvidia = [batch.EcsMachineImage(image_type=batch.EcsMachineImageType.ECS_AL2023_NVIDIA)]
        best_fit = batch.AllocationStrategy.BEST_FIT_PROGRESSIVE
        environments = {
            "cpu": self._ec2_environment(
                "CpuEnvironment",
                images=al2023,
                launch_template=self.launch_template,
                allocation_strategy=best_fit,
                use_optimal_instance_classes=True,
                maxv_cpus=cfg.max_vcpus,
            ),
            "spot": self._ec2_environment(
                "SpotEnvironment",
                images=al2023,
                launch_template=self.launch_template,
                spot=True,
                allocation_strategy=batch.AllocationStrategy.SPOT_CAPACITY_OPTIMIZED,
                use_optimal_instance_classes=True,
                maxv_cpus=cfg.spot_max_vcpus,
            ),
            "gpu": self._ec2_environment(
                "GpuEnvironment",
                images=nvidia,
                launch_template=self.gpu_launch_template,
                allocation_strategy=best_fit,
                use_optimal_instance_classes=False,
                instance_classes=list(GPU_CLASSES),
                maxv_cpus=cfg.gpu_max_vcpus,
            ),
        }
        environments["runner"] = self._runner_environment(al2023)
        return environments

    def _runner_environment(self, images: list[batch.EcsMachineImage]) -> batch.IComputeEnvironment:
        """Fargate with EFS (jobs mount it themselves); with FSx, EC2 hosts that mount it."""
        if isinstance(self.file_system, EfsFileSystem):
            return batch.FargateComputeEnvironment(
                self.stack,
                "RunnerEnvironment",
                vpc=self.network.vpc,
                vpc_subnets=self.network.subnets,
                security_groups=[self.network.compute_sg],
                maxv_cpus=self.config.runner_max_vcpus or RUNNER_MIN_VCPUS,
                replace_compute_environment=False,
            )
        return self._ec2_environment(
            "RunnerEnvironment",
            images=images,
            launch_template=self.launch_template,
            allocation_strategy=batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
            use_optimal_instance_classes=False,
            instance_types=[ec2.InstanceType(t) for t in RUNNER_TYPES],
            maxv_cpus=self.config.runner_max_vcpus or RUNNER_MIN_VCPUS,
        )

    def size_runner(self, widths: list[int]) -> int:
        """``runner_max_vcpus=auto`` with FSx: the runner environment's max vCPUs from the
        compiled workflows' scatter concurrency (:mod:`.sizing`); returns the value in force."""
        if self.config.runner_max_vcpus is not None or isinstance(self.file_system, EfsFileSystem):
            return self.config.runner_max_vcpus or RUNNER_MIN_VCPUS
        vcpus = runner_vcpus(widths)
        cfn = cast(CfnResource, self.compute_environments["runner"].node.default_child)
        cfn.add_property_override("ComputeResources.MaxvCpus", vcpus)
        return vcpus

    def _runner_job_definition(
        self, image: ecr_assets.DockerImageAsset, environment: dict[str, str]
    ) -> batch.EcsJobDefinition:
        """The runner; its previous revisions stay ACTIVE on update (``SkipDeregisterOnUpdate``):
        deployed machines, retained versions and running executions name it with its revision."""
        definition = batch.EcsJobDefinition(
            self.stack,
            "RunnerJobDefinition",
            job_definition_name=f"{JOB_DEFINITION_PREFIX}runner-{self.stack.stack_name}",
            container=self._runner_container(image, environment),
            # a run-time step's WDL error is deterministic: retry only lost hosts
            retry_attempts=3,
            retry_strategies=[
                batch.RetryStrategy.of(
                    batch.Action.RETRY, batch.Reason.custom(on_status_reason="Host EC2*")
                ),
                batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.custom(on_reason="*")),
            ],
            timeout=Duration.hours(12),
        )
        cfn = cast(batch.CfnJobDefinition, definition.node.default_child)
        cfn.add_property_override("ResourceRetentionPolicy", {"SkipDeregisterOnUpdate": True})
        return definition

    def _runner_container(
        self, image: ecr_assets.DockerImageAsset, environment: dict[str, str]
    ) -> batch.IEcsContainerDefinition:
        """The runner's container; the step is the command's argument. With EFS a Fargate
        container mounting the file system (job role, transit encryption); with FSx an EC2
        container binding the hosts' mount, and every run-time step runs here, so its role
        also registers job definitions and answers exact joins."""
        runner_role, mount_path = self.roles.runner_role, self.config.mount_path
        common: dict[str, Any] = {
            "image": ecs.ContainerImage.from_docker_image_asset(image),
            "cpu": 1,
            "memory": Size.mebibytes(2048),
            "command": RUNNER_COMMAND,
            "environment": environment,
            "job_role": runner_role,
        }
        fs = self.file_system
        if isinstance(fs, EfsFileSystem):
            volume = batch.EcsVolume.efs(
                name="efs",
                file_system=fs.efs,
                access_point_id=fs.access_point.access_point_id,
                enable_transit_encryption=True,
                use_job_role=True,
                container_path=mount_path,
            )
            container = batch.EcsFargateContainerDefinition(
                self.stack,
                "RunnerContainer",
                **common,
                fargate_cpu_architecture=ecs.CpuArchitecture.X86_64,
                volumes=[volume],
            )
            fs.efs.grant_root_access(runner_role)
            return container
        grant_register_job_definitions(self.stack, runner_role, self.roles.job_role)
        grant_answer_joins(runner_role)
        volumes = [
            batch.EcsVolume.host(name="fsx", host_path=mount_path, container_path=mount_path),
            batch.EcsVolume.host(name="scratch", host_path=SCRATCH, container_path="/tmp"),
        ]
        return batch.EcsEc2ContainerDefinition(
            self.stack, "RunnerContainer", **common, volumes=volumes
        )

    def _acknowledge(self) -> None:
        ack(
            self.instance_role,
            f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{ECS_INSTANCE_POLICY}]",
            "The ECS agent on Batch instances needs exactly the AWS-maintained ECS instance policy.",
        )
        if not isinstance(self.file_system, EfsFileSystem):
            # with FSx, the runner role runs prepare and every other run-time step
            acknowledge_registrar(self.roles.runner_role)
            acknowledge_unscoped_actions(self.roles.runner_role)
        execution_role = self.runner_job_definition.container.execution_role
        ack(
            execution_role,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken supports no resource-level permission (image pull).",
        )
        ack(
            execution_role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/batch/job:*]",
            "Batch writes every job's log stream to the /aws/batch/job log group.",
        )
