"""The shared infrastructure: network, run bucket, file system, Batch, run-time functions.

One stack per deployment. The three variants differ only in the network (a new VPC or a given
one) and the shared file system (EFS, or FSx for Lustre, which Lambda cannot mount: with FSx the
run-time steps run as Batch jobs on the runner queue instead of Lambda functions).
"""

from __future__ import annotations

import re

from aws_cdk import (
    Acknowledgment,
    Aws,
    CfnOutput,
    Duration,
    RemovalPolicy,
    Size,
    Stack,
    Tags,
    Validations,
)
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_efs as efs
from aws_cdk import aws_fsx as fsx
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from wdl2sfn.keys import SCRATCH_PREFIXES

from .config import FUNCTION_PLACEHOLDERS, QUEUE_PLACEHOLDERS, REPO_ROOT, Config

# What the runner image's build context must never contain (also in the repo's .dockerignore).
IMAGE_EXCLUDES = [
    ".git",
    ".venv",
    "**/cdk.out",
    "cdk.out",
    "**/__pycache__",
    "*.egg-info",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "wdl2sfn_runs",
    "bench",
    "tests",
    "node_modules",
    "build",
    "dist",
]

LAMBDA_HANDLER = "wdl2sfn.task_runner.lambda_entry.handler"
STEPS = tuple(FUNCTION_PLACEHOLDERS)
# Batch job definitions that prepare registers (content-hashed) and the runner's all match this.
JOB_DEFINITION_PREFIX = "wdl2sfn-"
# Instance types used for each Batch compute environment.
GPU_CLASSES = (ec2.InstanceClass.G4DN, ec2.InstanceClass.G5, ec2.InstanceClass.G6)
RUNNER_TYPES = ("m6i.large", "m6i.xlarge", "c6i.xlarge")
# Instance storage (NVMe, RAID0) or, without it, a folder of the root volume, on every Batch host.
SCRATCH = "/mnt/scratch"


def _alnum(text: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def ack(scope: Construct, rule: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on ``scope`` (and everything under it), with its reason."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))


class Wdl2SfnStack(Stack):
    """Everything a wdl2sfn state machine needs, with its ARNs as the compiler's placeholders."""

    def __init__(self, scope: Construct, construct_id: str, *, config: Config, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        if config.owner:
            Tags.of(self).add("Owner", config.owner)
        Tags.of(self).add("wdl2sfn:stack", construct_id)

        self._network()
        self._bucket()
        self._roles()
        self.image = ecr_assets.DockerImageAsset(
            self,
            "RunnerImage",
            directory=REPO_ROOT,
            file="Dockerfile",
            exclude=IMAGE_EXCLUDES,
            platform=ecr_assets.Platform.LINUX_AMD64,
        )
        if config.filesystem == "fsx":
            self._fsx()
        else:
            self._efs()
        self._batch()
        self.functions: dict[str, lambda_.IFunction] = {}
        if config.filesystem == "efs":
            self._functions()
        self._grant_extra_buckets()
        self._deploy_role()
        self._outputs()
        self._acknowledgments()

    # ---------------------------------------------------------------- network
    def _network(self) -> None:
        cfg = self.config
        if cfg.uses_existing_vpc:
            # Without the subnets' AZs (context availability_zones), the stack's own AZ tokens
            # stand in: they are only used to describe the subnets, never to place anything.
            azs = (
                list(cfg.availability_zones) or list(self.availability_zones)[: len(cfg.subnet_ids)]
            )
            while len(azs) < len(cfg.subnet_ids):
                azs.append(azs[-1])
            self.vpc = ec2.Vpc.from_vpc_attributes(
                self,
                "Vpc",
                vpc_id=cfg.vpc_id,
                availability_zones=azs,
                private_subnet_ids=list(cfg.subnet_ids),
            )
            self.subnets = ec2.SubnetSelection(
                subnets=[
                    ec2.Subnet.from_subnet_attributes(
                        self, f"Subnet{i}", subnet_id=sid, availability_zone=az
                    )
                    for i, (sid, az) in enumerate(zip(cfg.subnet_ids, azs, strict=True))
                ]
            )
        else:
            flow_logs = logs.LogGroup(
                self,
                "FlowLogs",
                retention=logs.RetentionDays.ONE_MONTH,
                removal_policy=RemovalPolicy.DESTROY,
            )
            self.vpc = ec2.Vpc(
                self,
                "Vpc",
                ip_addresses=ec2.IpAddresses.cidr("10.80.0.0/16"),
                max_azs=2,
                nat_gateways=1,
                subnet_configuration=[
                    ec2.SubnetConfiguration(
                        name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                    ),
                    ec2.SubnetConfiguration(
                        name="private",
                        subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS,
                        cidr_mask=19,
                    ),
                ],
                flow_logs={
                    "all": ec2.FlowLogOptions(
                        destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                        traffic_type=ec2.FlowLogTrafficType.REJECT,
                    )
                },
            )
            self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

        # Compute (Batch instances, Fargate tasks, Lambda ENIs) share one security group; the
        # file system has its own, open only to the compute group on its ports.
        if cfg.security_group_id:
            self.compute_sg = ec2.SecurityGroup.from_security_group_id(
                self, "ComputeSg", cfg.security_group_id, mutable=False
            )
        else:
            self.compute_sg = ec2.SecurityGroup(
                self,
                "ComputeSg",
                vpc=self.vpc,
                description="wdl2sfn Batch instances, Fargate tasks and Lambda functions",
                allow_all_outbound=True,
            )
        self.fs_sg = ec2.SecurityGroup(
            self,
            "FileSystemSg",
            vpc=self.vpc,
            description=f"wdl2sfn shared file system ({cfg.filesystem})",
            allow_all_outbound=cfg.filesystem == "fsx",
        )

        if cfg.endpoints:
            self.vpc.add_gateway_endpoint(
                "S3Endpoint",
                service=ec2.GatewayVpcEndpointAwsService.S3,
                subnets=[self.subnets],
            )
            endpoint_sg = ec2.SecurityGroup(
                self,
                "EndpointSg",
                vpc=self.vpc,
                description="wdl2sfn interface endpoints (HTTPS from the compute group)",
                allow_all_outbound=False,
            )
            endpoint_sg.add_ingress_rule(
                ec2.Peer.security_group_id(self.compute_sg.security_group_id),
                ec2.Port.tcp(443),
                "HTTPS from wdl2sfn compute",
            )
            services = {
                "Ecr": ec2.InterfaceVpcEndpointAwsService.ECR,
                "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
                "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
                "Ecs": ec2.InterfaceVpcEndpointAwsService.ECS,
                "EcsAgent": ec2.InterfaceVpcEndpointAwsService.ECS_AGENT,
                "EcsTelemetry": ec2.InterfaceVpcEndpointAwsService.ECS_TELEMETRY,
                "Batch": ec2.InterfaceVpcEndpointAwsService.BATCH,
                "States": ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
                "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
            }
            for name, service in services.items():
                self.vpc.add_interface_endpoint(
                    f"{name}Endpoint",
                    service=service,
                    subnets=self.subnets,
                    security_groups=[endpoint_sg],
                    private_dns_enabled=True,
                    open=False,
                )

    # ----------------------------------------------------------------- bucket
    def _bucket(self) -> None:
        cfg = self.config
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=Duration.days(365))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        ack(
            self.access_logs,
            "AwsSolutions-S1",
            "This is the access-log bucket of the run bucket; logging it would log itself.",
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=cfg.bucket_name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="run-bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="abort-incomplete-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
                # Run scratch (wdl2sfn.keys): Distributed Map item files and result manifests,
                # FSx step results; sources under _workflows/ and uploaded outputs are kept.
                *(
                    s3.LifecycleRule(
                        id=f"expire-run-scratch-{prefix.strip('_')}",
                        prefix=f"{prefix}/",
                        expiration=Duration.days(max(cfg.scratch_days, 1)),
                    )
                    for prefix in SCRATCH_PREFIXES
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        # S3 -> EventBridge ("Object Created" starts workflows), set on the bucket itself rather
        # than through CDK's notifications custom resource (one Lambda function fewer).
        self.bucket.node.default_child.add_property_override(
            "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
        )

    # ------------------------------------------------------------------ roles
    def _roles(self) -> None:
        # The role of every task job (registered by prepare, content-hashed): tasks run bash on
        # the shared file system (prepare localized their inputs); they may read the run bucket.
        self.job_role = iam.Role(
            self,
            "TaskJobRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="wdl2sfn task jobs (Batch): read the run bucket",
        )
        self._grant_bucket(self.job_role, write=False)
        # The runner job definition's role (upload; with FSx also every run-time step).
        self.runner_role = iam.Role(
            self,
            "RunnerJobRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="wdl2sfn runner jobs (Batch): upload, and with FSx the run-time steps",
        )
        self._grant_bucket(self.runner_role)

    def _grant_bucket(self, grantee: iam.IGrantable, *, write: bool = True) -> None:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket", "s3:GetBucketLocation"],
                resources=[self.bucket.bucket_arn],
            )
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectTagging"]
                + (
                    [
                        "s3:PutObject",
                        "s3:PutObjectTagging",
                        "s3:DeleteObject",
                        "s3:AbortMultipartUpload",
                        "s3:ListMultipartUploadParts",
                    ]
                    if write
                    else []
                ),
                resources=[self.bucket.arn_for_objects("*")],
            )
        )

    def _grant_answer_joins(self, grantee: iam.IGrantable) -> None:
        """Exact joins: the eval step answers waiting units' task tokens (SendTaskSuccess)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["states:SendTaskSuccess", "states:SendTaskFailure"],
                resources=["*"],  # task tokens: no resource-level permission
            )
        )

    def _grant_register_job_definitions(self, grantee: iam.IGrantable) -> None:
        """What prepare needs to register content-hashed task job definitions."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["batch:RegisterJobDefinition"],
                resources=[
                    self.format_arn(
                        service="batch",
                        resource="job-definition",
                        resource_name=f"{JOB_DEFINITION_PREFIX}*",
                    )
                ],
            )
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["batch:DescribeJobDefinitions"], resources=["*"])
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.job_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            )
        )

    # ------------------------------------------------------------ file system
    def _efs(self) -> None:
        self.efs = efs.FileSystem(
            self,
            "Efs",
            vpc=self.vpc,
            vpc_subnets=self.subnets,
            security_group=self.fs_sg,
            encrypted=True,
            throughput_mode=efs.ThroughputMode.ELASTIC,
            performance_mode=efs.PerformanceMode.GENERAL_PURPOSE,
            lifecycle_policy=efs.LifecyclePolicy.AFTER_30_DAYS,
            enable_automatic_backups=False,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.efs.connections.allow_default_port_from(self.compute_sg, "NFS from wdl2sfn compute")
        # Root of the file system as uid/gid 0: the Lambda steps, the Fargate runner and the
        # tasks (root in their containers, on hosts mounting the whole file system) then see and
        # own the same tree, /mnt/efs/wdl2sfn/runs, with the same permissions.
        self.access_point = self.efs.add_access_point(
            "AccessPoint",
            path="/",
            posix_user=efs.PosixUser(uid="0", gid="0"),
        )
        self.fs_id = self.efs.file_system_id
        # Jobs mount EFS through their job definitions (efsVolumeConfiguration, IAM
        # authorization with the job role): the hosts mount nothing.
        self.mount_commands: list[str] = []

    def _fsx(self) -> None:
        cfg = self.config
        for port in (ec2.Port.tcp(988), ec2.Port.tcp_range(1018, 1023)):
            self.fs_sg.add_ingress_rule(
                ec2.Peer.security_group_id(self.compute_sg.security_group_id),
                port,
                "Lustre from wdl2sfn compute",
            )
            # FSx file servers talk to each other through their own security group.
            self.fs_sg.add_ingress_rule(self.fs_sg, port, "Lustre between file servers")
        subnet = self.vpc.select_subnets(**self._subnet_kwargs()).subnets[0]
        bucket_path = f"s3://{self.bucket.bucket_name}"
        if cfg.fsx_deployment_type == "SCRATCH_2":
            lustre = fsx.LustreConfiguration(
                deployment_type=fsx.LustreDeploymentType.SCRATCH_2,
                import_path=bucket_path,
                export_path=bucket_path,
                auto_import_policy=fsx.LustreAutoImportPolicy.NEW_CHANGED_DELETED,
                data_compression_type=fsx.LustreDataCompressionType.LZ4,
            )
        else:
            lustre = fsx.LustreConfiguration(
                deployment_type=fsx.LustreDeploymentType.PERSISTENT_2,
                per_unit_storage_throughput=125,
                data_compression_type=fsx.LustreDataCompressionType.LZ4,
            )
        self.fsx = fsx.LustreFileSystem(
            self,
            "Fsx",
            vpc=self.vpc,
            vpc_subnet=subnet,
            security_group=self.fs_sg,
            storage_capacity_gib=cfg.fsx_storage_gib,
            file_system_type_version=fsx.FileSystemTypeVersion.V_2_15,
            lustre_configuration=lustre,
            removal_policy=RemovalPolicy.DESTROY,
        )
        if cfg.fsx_deployment_type == "PERSISTENT_2":
            # PERSISTENT_2 links to S3 through a data repository association (import + export).
            fsx.CfnDataRepositoryAssociation(
                self,
                "FsxBucketLink",
                file_system_id=self.fsx.file_system_id,
                file_system_path="/",
                data_repository_path=bucket_path,
                batch_import_meta_data_on_create=True,
                s3=fsx.CfnDataRepositoryAssociation.S3Property(
                    auto_import_policy=fsx.CfnDataRepositoryAssociation.AutoImportPolicyProperty(
                        events=["NEW", "CHANGED", "DELETED"]
                    ),
                    auto_export_policy=fsx.CfnDataRepositoryAssociation.AutoExportPolicyProperty(
                        events=["NEW", "CHANGED", "DELETED"]
                    ),
                ),
            )
        self.fs_id = self.fsx.file_system_id
        # Amazon Linux 2023's lustre-client package is the 2.15 client, matching the file
        # system's FileSystemTypeVersion 2.15 (set above).
        target = f"{self.fsx.dns_name}@tcp:/{self.fsx.mount_name}"
        self.mount_commands = [
            "dnf install -y lustre-client",
            f"mkdir -p {cfg.mount_path}",
            f"echo '{target} {cfg.mount_path} lustre defaults,relatime,flock,_netdev,x-systemd.automount,x-systemd.requires=network.service 0 0' >> /etc/fstab",
            f"for i in $(seq 1 30); do mount -t lustre -o relatime,flock {target} {cfg.mount_path} && break; sleep 10; done",
            f"mountpoint -q {cfg.mount_path}",
        ]

    def _subnet_kwargs(self) -> dict:
        sel = self.subnets
        if sel.subnets:
            return {"subnets": sel.subnets}
        return {"subnet_type": sel.subnet_type}

    # ------------------------------------------------------------------ batch
    def _launch_template(self, name: str) -> ec2.LaunchTemplate:
        """A launch template whose user data (MIME multi-part, as Batch requires) mounts the
        shared file system at the task runner's path and puts instance storage to use."""
        script = ec2.UserData.for_linux()
        script.add_commands(
            "set -euxo pipefail",
            "exec > >(tee -a /var/log/wdl2sfn-user-data.log) 2>&1",
            # NVMe instance store (e.g. g4dn, c6id): one RAID0 XFS volume at /mnt/scratch, which
            # task job definitions may bind for temporary files (WDL2SFN_SCRATCH).
            "mkdir -p /mnt/scratch",
            "devs=$(ls /dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_* 2>/dev/null"
            " | grep -v -- '-part' | xargs -r -n1 readlink -f | sort -u || true)",
            'if [ -n "$devs" ]; then',
            "  n=$(echo $devs | wc -w)",
            '  if [ "$n" -gt 1 ]; then dnf install -y mdadm;'
            " mdadm --create /dev/md0 --level=0 --raid-devices=$n $devs --force --run;"
            " dev=/dev/md0; else dev=$devs; fi",
            "  mkfs.xfs -f $dev && mount -o noatime $dev /mnt/scratch",
            "fi",
            "chmod 1777 /mnt/scratch",
            # pull each task image once per instance, not once per job (Docker Hub's
            # anonymous pull limit is per IP, and every instance is behind one NAT address)
            "echo ECS_IMAGE_PULL_BEHAVIOR=once >> /etc/ecs/ecs.config",
            *self.mount_commands,
        )
        multipart = ec2.MultipartUserData()
        multipart.add_user_data_part(script, ec2.MultipartBody.SHELL_SCRIPT, True)
        return ec2.LaunchTemplate(
            self,
            f"{name}LaunchTemplate",
            user_data=multipart,
            require_imdsv2=True,
            # Task containers get their job role from the ECS agent, never the instance role.
            http_put_response_hop_limit=1,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        100,
                        encrypted=True,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        delete_on_termination=True,
                    ),
                )
            ],
        )

    def _batch(self) -> None:
        cfg = self.config
        # ECS instance role: the ECS agent's managed policy plus mounting the file system.
        self.instance_role = iam.Role(
            self,
            "BatchInstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonEC2ContainerServiceforEC2Role"
                )
            ],
            description="wdl2sfn Batch EC2 instances (ECS agent, file system mount)",
        )
        if cfg.filesystem == "efs":
            # tasks mount EFS through their job definitions (IAM authorization, job role)
            self.efs.grant_root_access(self.job_role)
        common = {
            "vpc": self.vpc,
            "vpc_subnets": self.subnets,
            "security_groups": [self.compute_sg],
            "instance_role": self.instance_role,
            "update_to_latest_image_version": True,
            "replace_compute_environment": False,
        }
        al2023 = [batch.EcsMachineImage(image_type=batch.EcsMachineImageType.ECS_AL2023)]
        self.launch_template = self._launch_template("Compute")
        self.gpu_launch_template = self._launch_template("Gpu")
        self.compute_environments: dict[str, batch.IComputeEnvironment] = {}
        self.compute_environments["cpu"] = batch.ManagedEc2EcsComputeEnvironment(
            self,
            "CpuEnvironment",
            **common,
            images=al2023,
            launch_template=self.launch_template,
            allocation_strategy=batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
            use_optimal_instance_classes=True,
            minv_cpus=0,
            maxv_cpus=cfg.max_vcpus,
        )
        self.compute_environments["spot"] = batch.ManagedEc2EcsComputeEnvironment(
            self,
            "SpotEnvironment",
            **common,
            images=al2023,
            launch_template=self.launch_template,
            spot=True,
            allocation_strategy=batch.AllocationStrategy.SPOT_CAPACITY_OPTIMIZED,
            use_optimal_instance_classes=True,
            minv_cpus=0,
            maxv_cpus=cfg.spot_max_vcpus,
        )
        self.compute_environments["gpu"] = batch.ManagedEc2EcsComputeEnvironment(
            self,
            "GpuEnvironment",
            **common,
            images=[batch.EcsMachineImage(image_type=batch.EcsMachineImageType.ECS_AL2023_NVIDIA)],
            launch_template=self.gpu_launch_template,
            allocation_strategy=batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
            use_optimal_instance_classes=False,
            instance_classes=list(GPU_CLASSES),
            minv_cpus=0,
            maxv_cpus=cfg.gpu_max_vcpus,
        )
        if cfg.filesystem == "efs":
            self.compute_environments["runner"] = batch.FargateComputeEnvironment(
                self,
                "RunnerEnvironment",
                vpc=self.vpc,
                vpc_subnets=self.subnets,
                security_groups=[self.compute_sg],
                maxv_cpus=cfg.runner_max_vcpus,
                replace_compute_environment=False,
            )
        else:
            self.compute_environments["runner"] = batch.ManagedEc2EcsComputeEnvironment(
                self,
                "RunnerEnvironment",
                **common,
                images=al2023,
                launch_template=self.launch_template,
                allocation_strategy=batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
                use_optimal_instance_classes=False,
                instance_types=[ec2.InstanceType(t) for t in RUNNER_TYPES],
                minv_cpus=0,
                maxv_cpus=cfg.runner_max_vcpus,
            )
        self.queues: dict[str, batch.JobQueue] = {}
        for key, env in self.compute_environments.items():
            self.queues[key] = batch.JobQueue(
                self,
                f"{key.capitalize()}Queue",
                compute_environments=[
                    batch.OrderedComputeEnvironment(compute_environment=env, order=1)
                ],
                priority=10 if key == "runner" else 1,
            )

        env = self._runtime_environment()
        if cfg.filesystem == "fsx":
            # With FSx every run-time step runs here, so this role also registers job definitions
            # and answers exact joins.
            self._grant_register_job_definitions(self.runner_role)
            self._grant_answer_joins(self.runner_role)
            container = batch.EcsEc2ContainerDefinition(
                self,
                "RunnerContainer",
                image=ecs.ContainerImage.from_docker_image_asset(self.image),
                cpu=1,
                memory=Size.mebibytes(2048),
                command=["python", "-m", "wdl2sfn.task_runner", "upload"],
                environment=env,  # the step is the command's argument
                job_role=self.runner_role,
                volumes=[
                    batch.EcsVolume.host(
                        name="fsx", host_path=cfg.mount_path, container_path=cfg.mount_path
                    ),
                    batch.EcsVolume.host(
                        name="scratch", host_path="/mnt/scratch", container_path="/tmp"
                    ),
                ],
            )
        else:
            container = batch.EcsFargateContainerDefinition(
                self,
                "RunnerContainer",
                image=ecs.ContainerImage.from_docker_image_asset(self.image),
                cpu=1,
                memory=Size.mebibytes(2048),
                command=["python", "-m", "wdl2sfn.task_runner", "upload"],
                environment=env,  # the step is the command's argument
                job_role=self.runner_role,
                fargate_cpu_architecture=ecs.CpuArchitecture.X86_64,
                volumes=[
                    batch.EcsVolume.efs(
                        name="efs",
                        file_system=self.efs,
                        access_point_id=self.access_point.access_point_id,
                        enable_transit_encryption=True,
                        use_job_role=True,
                        container_path=cfg.mount_path,
                    )
                ],
            )
            self.efs.grant_root_access(self.runner_role)
        self.runner_job_definition = batch.EcsJobDefinition(
            self,
            "RunnerJobDefinition",
            job_definition_name=f"{JOB_DEFINITION_PREFIX}runner-{self.stack_name}",
            container=container,
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

    def _runtime_environment(self) -> dict[str, str]:
        """The run-time steps' environment (Lambda and runner jobs alike)."""
        cfg = self.config
        env = {
            "WDL2SFN_STORE": cfg.store,
            "WDL2SFN_RUN_BUCKET": self.bucket.bucket_name,
            "WDL2SFN_FILESYSTEM": cfg.filesystem,
            "WDL2SFN_JOB_ROLE_ARN": self.job_role.role_arn,
            # where the file system is mounted in every container (tasks' job definitions too)
            "WDL2SFN_MOUNT_PATH": cfg.mount_path,
            # the instances' scratch volume, bound into task containers for TMPDIR
            "WDL2SFN_TASK_SCRATCH": SCRATCH,
        }
        if cfg.filesystem == "efs":
            env["WDL2SFN_EFS_ID"] = self.efs.file_system_id
            env["WDL2SFN_EFS_ACCESS_POINT"] = self.access_point.access_point_id
        else:
            env["WDL2SFN_FSX_ID"] = self.fsx.file_system_id
        return env

    # -------------------------------------------------------------- functions
    def _functions(self) -> None:
        """The run-time steps as Lambda functions from the runner image, EFS at /mnt/efs."""
        env = self._runtime_environment()
        filesystem = lambda_.FileSystem.from_efs_access_point(self.access_point, "/mnt/efs")
        for step in STEPS:
            log_group = logs.LogGroup(
                self,
                f"{step.capitalize()}FunctionLogs",
                retention=logs.RetentionDays.ONE_MONTH,
                removal_policy=RemovalPolicy.DESTROY,
            )
            fn = lambda_.DockerImageFunction(
                self,
                f"{step.capitalize()}Function",
                description=f"wdl2sfn run-time step: {step}",
                code=lambda_.DockerImageCode.from_ecr(
                    self.image.repository,
                    tag_or_digest=self.image.image_tag,
                    cmd=[LAMBDA_HANDLER],
                ),
                architecture=lambda_.Architecture.X86_64,
                memory_size=2048 if step in ("prepare", "collect") else 1024,
                timeout=Duration.minutes(10),
                vpc=self.vpc,
                vpc_subnets=self.subnets,
                security_groups=[self.compute_sg],
                filesystem=filesystem,
                environment={**env, "WDL2SFN_STEP": step},
                log_group=log_group,
                tracing=lambda_.Tracing.ACTIVE,
            )
            self._grant_bucket(fn)
            self.efs.grant_root_access(fn)
            if step == "prepare":
                self._grant_register_job_definitions(fn)
            if step == "eval":
                self._grant_answer_joins(fn)
            self.functions[step] = fn

    # ------------------------------------------------------------ other buckets
    def _grant_extra_buckets(self) -> None:
        """Context ``read_buckets`` (S3 inputs: prepare localizes them, tasks may read them) and
        ``write_buckets`` (``--s3upload`` destinations outside the run bucket: the runner)."""
        readers = [self.job_role, self.runner_role, *self.functions.values()]
        for name in self.config.read_buckets:
            for grantee in readers:
                self._grant_other_bucket(grantee, name, write=False)
        for name in self.config.write_buckets:
            self._grant_other_bucket(self.runner_role, name, write=True)

    def _grant_other_bucket(self, grantee: iam.IGrantable, name: str, *, write: bool) -> None:
        arn = f"arn:{Aws.PARTITION}:s3:::{name}"
        actions = ["s3:GetObject"] + (["s3:PutObject", "s3:AbortMultipartUpload"] if write else [])
        principal = grantee.grant_principal
        principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:ListBucket", "s3:GetBucketLocation"], resources=[arn])
        )
        principal.add_to_principal_policy(
            iam.PolicyStatement(actions=actions, resources=[f"{arn}/*"])
        )
        ack(
            grantee if isinstance(grantee, Construct) else self,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{name}/*]",
            f"Objects of bucket {name}, named in context {'write' if write else 'read'}_buckets.",
        )

    # ------------------------------------------------------------ deploy role
    def _deploy_role(self) -> None:
        """The role ``wdl2sfn deploy`` gives the machines it creates (output
        StateMachineRoleArn): what any compiled machine of this stack needs, for machines named
        ``<stack>-*`` (they start each other: subworkflows and parts)."""
        from .permissions import machine_statements

        self.deploy_role = iam.Role(
            self,
            "StateMachineRole",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="wdl2sfn state machines created by `wdl2sfn deploy`",
        )
        functions = [fn.function_arn for fn in self.functions.values()]
        statements = machine_statements(self, self, [f"{self.stack_name}-*"], functions)
        policy = iam.Policy(self, "StateMachineRolePolicy", statements=statements)
        self.deploy_role.attach_inline_policy(policy)
        self.deploy_policy = policy

    # ---------------------------------------------------------------- outputs
    @property
    def placeholders(self) -> dict[str, str]:
        """Every placeholder this stack resolves, to the value it substitutes."""
        values = {QUEUE_PLACEHOLDERS[k]: q.job_queue_arn for k, q in self.queues.items()}
        values["RunnerJobDefinitionArn"] = self.runner_job_definition.job_definition_arn
        values["RunBucket"] = self.bucket.bucket_name
        for step, fn in self.functions.items():
            values[FUNCTION_PLACEHOLDERS[step]] = fn.function_arn
        return values

    def _outputs(self) -> None:
        for name, value in self.placeholders.items():
            CfnOutput(self, name, value=value, description=f"wdl2sfn placeholder ${{{name}}}")
        CfnOutput(self, "FileSystemId", value=self.fs_id)
        CfnOutput(
            self,
            "StateMachineRoleArn",
            value=self.deploy_role.role_arn,
            description="role of the state machines `wdl2sfn deploy` creates",
        )
        CfnOutput(self, "TaskJobRoleArn", value=self.job_role.role_arn)

    # -------------------------------------------------------- acknowledgments
    def _acknowledgments(self) -> None:
        self._acknowledge_deploy_role()
        ack(
            self.instance_role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]",
            "The ECS agent on Batch instances needs exactly the AWS-maintained ECS instance policy.",
        )
        for grantee in [self.job_role, self.runner_role, *self.functions.values()]:
            ack(
                grantee,
                f"AwsSolutions-IAM5[Resource::<{self.get_logical_id(self.bucket.node.default_child)}.Arn>/*]",
                "Run files have per-run keys under the run bucket; access is limited to that bucket.",
            )
        job_definitions = (
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:batch:<AWS::Region>:"
            f"<AWS::AccountId>:job-definition/{JOB_DEFINITION_PREFIX}*]"
        )
        registrars = [self.functions["prepare"]] if self.functions else [self.runner_role]
        for grantee in registrars:
            ack(
                grantee,
                job_definitions,
                "prepare registers one content-hashed job definition wdl2sfn-<hash> per task image.",
            )
        for grantee in [*self.functions.values(), *([] if self.functions else [self.runner_role])]:
            ack(
                grantee,
                "AwsSolutions-IAM5[Resource::*]",
                "xray:PutTraceSegments/PutTelemetryRecords, batch:DescribeJobDefinitions and "
                "states:SendTaskSuccess/SendTaskFailure support no resource-level permission.",
            )
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
        for fn in self.functions.values():
            for policy in ("AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole"):
                ack(
                    fn,
                    f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{policy}]",
                    "AWS-maintained minimal policies for a Lambda function's logs and VPC ENIs.",
                )

    def _acknowledge_deploy_role(self) -> None:
        bucket = self.get_logical_id(self.bucket.node.default_child)
        states = "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>"
        batch_arn = "arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>"
        reasons = {
            "AwsSolutions-IAM5[Resource::*]": "batch:DescribeJobs supports no resource-level "
            "permission (Step Functions' documented .sync policy).",
            f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/*]": "Distributed Map item and result "
            "files are per run under the run bucket.",
            f"AwsSolutions-IAM5[Resource::{batch_arn}:job-definition/wdl2sfn-*]": "prepare "
            "registers content-hashed job definitions wdl2sfn-<hash> at run time.",
            f"AwsSolutions-IAM5[Resource::{batch_arn}:job/*]": "Job ids are known only at run "
            "time; Step Functions terminates aborted .sync jobs.",
            f"AwsSolutions-IAM5[Resource::{states}:stateMachine:{self.stack_name}-*]": "Machines "
            "`wdl2sfn deploy` creates are named <stack>-<workflow> and start each other "
            "(subworkflows, definition parts).",
        }
        for sep in (":", "/"):
            reasons[
                f"AwsSolutions-IAM5[Resource::{states}:execution:{self.stack_name}-*{sep}*]"
            ] = "Executions, Map Run children and subworkflow executions are named at run time."
        for rule, reason in reasons.items():
            ack(self.deploy_role, rule, reason)
            ack(self.deploy_policy, rule, reason)

    def acknowledge_cdk_singletons(self) -> None:
        """Acknowledge findings on the handlers CDK itself adds (call after all constructs)."""
        bucket = self.get_logical_id(self.bucket.node.default_child)
        basic = "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]"
        for child in self.node.children:
            cid = child.node.id
            if cid.startswith("Custom::CDKBucketDeployment"):
                reason = (
                    "CDK's BucketDeployment handler copies workflow sources from the CDK asset "
                    "bucket to s3://<RunBucket>/_workflows/; its policy is generated by CDK and "
                    "limited to those two buckets."
                )
                ack(child, basic, reason)
                ack(
                    child,
                    "AwsSolutions-L1",
                    "The runtime of CDK's BucketDeployment handler is chosen by aws-cdk-lib.",
                )
                for finding in (
                    "Action::s3:GetBucket*",
                    "Action::s3:GetObject*",
                    "Action::s3:List*",
                    "Action::s3:Abort*",
                    "Action::s3:DeleteObject*",
                    "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*",
                    f"Resource::<{bucket}.Arn>/*",
                ):
                    ack(child, f"AwsSolutions-IAM5[{finding}]", reason)
