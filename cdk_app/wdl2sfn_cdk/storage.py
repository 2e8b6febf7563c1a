"""Storage: the run bucket (with its access-log bucket and lifecycle) and the shared file system
(EFS, or FSx for Lustre linked to the run bucket), mounted at ``config.mount_path`` everywhere.

These parts are not constructs of their own: their resources stay children of the stack, so
their logical IDs are the ones they always had (see ``stack.py``).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_fsx as fsx
from aws_cdk import aws_s3 as s3

from wdl2sfn.contract import SCRATCH_PREFIXES

from .config import Config
from .nag import ack
from .network import Network

LUSTRE_PORTS = (ec2.Port.tcp(988), ec2.Port.tcp_range(1018, 1023))
# S3 events the FSx link imports into the file system and exports back to the bucket.
LINK_EVENTS = ["NEW", "CHANGED", "DELETED"]
#: Where PERSISTENT_2 links the run bucket on the file system: a folder of its own, beside the
#: run store (``<mount>/wdl2sfn/runs``), never above it.
LINK_PATH = "/s3"


class RunBucket:
    """The run bucket: SSL only, SSE-S3, access logs to a second bucket, run scratch expiring
    after ``scratch_days``, and EventBridge notifications (``Object Created`` starts workflows)."""

    def __init__(self, stack: Stack, config: Config) -> None:
        self.access_logs = s3.Bucket(
            stack,
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
            stack,
            "Bucket",
            bucket_name=config.bucket_name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="run-bucket/",
            lifecycle_rules=lifecycle_rules(config.scratch_days),
            removal_policy=RemovalPolicy.RETAIN,
        )
        # S3 -> EventBridge, set on the bucket itself rather than through CDK's notifications
        # custom resource (one Lambda function fewer).
        self.bucket.node.default_child.add_property_override(  # type: ignore[union-attr]
            "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
        )


def lifecycle_rules(scratch_days: int) -> list[s3.LifecycleRule]:
    """Abort stale multipart uploads; expire run scratch (wdl2sfn.contract.keys: Distributed Map item
    files and result manifests, FSx step results). Sources under _workflows/ and uploaded
    outputs are kept."""
    return [
        s3.LifecycleRule(
            id="abort-incomplete-uploads",
            abort_incomplete_multipart_upload_after=Duration.days(7),
        ),
        *(
            s3.LifecycleRule(
                id=f"expire-run-scratch-{prefix.strip('_')}",
                prefix=f"{prefix}/",
                expiration=Duration.days(max(scratch_days, 1)),
            )
            for prefix in SCRATCH_PREFIXES
        ),
    ]


class SharedFileSystem:
    """What the rest of the stack needs of the shared file system, EFS or FSx alike."""

    fs_id: str
    # shell commands each Batch host's user data runs to mount it (none when jobs mount it)
    mount_commands: list[str]
    # the run-time steps' environment entries naming it
    environment: dict[str, str]


class EfsFileSystem(SharedFileSystem):
    """EFS: encrypted, elastic throughput, one mount target per subnet, an access point at ``/``.

    Jobs mount it through their job definitions (efsVolumeConfiguration, IAM authorization with
    the job role) and the Lambda functions through the access point: the hosts mount nothing.
    """

    def __init__(self, stack: Stack, network: Network) -> None:
        self.efs = efs.FileSystem(
            stack,
            "Efs",
            vpc=network.vpc,
            vpc_subnets=network.subnets,
            security_group=network.fs_sg,
            encrypted=True,
            throughput_mode=efs.ThroughputMode.ELASTIC,
            performance_mode=efs.PerformanceMode.GENERAL_PURPOSE,
            lifecycle_policy=efs.LifecyclePolicy.AFTER_30_DAYS,
            enable_automatic_backups=False,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.efs.connections.allow_default_port_from(network.compute_sg, "NFS from wdl2sfn compute")
        # Root of the file system as uid/gid 0: the Lambda steps, the Fargate runner and the
        # tasks (root in their containers, on hosts mounting the whole file system) then see and
        # own the same tree, /mnt/efs/wdl2sfn/runs, with the same permissions.
        self.access_point = self.efs.add_access_point(
            "AccessPoint",
            path="/",
            posix_user=efs.PosixUser(uid="0", gid="0"),
        )
        self.fs_id = self.efs.file_system_id
        self.mount_commands = []
        self.environment = {
            "WDL2SFN_EFS_ID": self.efs.file_system_id,
            "WDL2SFN_EFS_ACCESS_POINT": self.access_point.access_point_id,
        }


class FsxFileSystem(SharedFileSystem):
    """FSx for Lustre 2.15 (``SCRATCH_2`` or ``PERSISTENT_2``) linked to the run bucket, mounted
    by every Batch host's user data (Lambda cannot mount it)."""

    def __init__(self, stack: Stack, config: Config, network: Network, bucket: s3.IBucket) -> None:
        self._open_lustre_ports(network)
        bucket_path = f"s3://{bucket.bucket_name}"
        self.fsx = fsx.LustreFileSystem(
            stack,
            "Fsx",
            vpc=network.vpc,
            vpc_subnet=network.first_subnet(),
            security_group=network.fs_sg,
            storage_capacity_gib=config.fsx_storage_gib,
            file_system_type_version=fsx.FileSystemTypeVersion.V_2_15,
            lustre_configuration=_lustre_configuration(config.fsx_deployment_type, bucket_path),
            removal_policy=RemovalPolicy.DESTROY,
        )
        if config.fsx_deployment_type == "PERSISTENT_2":
            link_bucket(stack, self.fsx.file_system_id, bucket_path)
        self.fs_id = self.fsx.file_system_id
        self.mount_commands = self._mount_commands(config.mount_path)
        self.environment = {"WDL2SFN_FSX_ID": self.fsx.file_system_id}

    @staticmethod
    def _open_lustre_ports(network: Network) -> None:
        for port in LUSTRE_PORTS:
            network.fs_sg.add_ingress_rule(
                ec2.Peer.security_group_id(network.compute_sg.security_group_id),
                port,
                "Lustre from wdl2sfn compute",
            )
            # FSx file servers talk to each other through their own security group.
            network.fs_sg.add_ingress_rule(network.fs_sg, port, "Lustre between file servers")

    def _mount_commands(self, mount_path: str) -> list[str]:
        """Amazon Linux 2023's lustre-client package is the 2.15 client, matching the file
        system's FileSystemTypeVersion 2.15."""
        target = f"{self.fsx.dns_name}@tcp:/{self.fsx.mount_name}"
        options = (
            "defaults,relatime,flock,_netdev,x-systemd.automount,x-systemd.requires=network.service"
        )
        return [
            "dnf install -y lustre-client",
            f"mkdir -p {mount_path}",
            f"echo '{target} {mount_path} lustre {options} 0 0' >> /etc/fstab",
            f"for i in $(seq 1 30); do mount -t lustre -o relatime,flock {target} {mount_path}"
            " && break; sleep 10; done",
            f"mountpoint -q {mount_path}",
        ]


def link_bucket(stack: Stack, fs_id: str, bucket_path: str) -> fsx.CfnDataRepositoryAssociation:
    """PERSISTENT_2 links to S3 through a data repository association (import + export) of
    ``LINK_PATH`` with the bucket: the bucket's objects appear there as files, files written
    there are exported. The run store is not below it, so runs are not copied to the bucket
    (auto-export would copy every file of every run to a prefix no lifecycle rule expires)."""
    association = fsx.CfnDataRepositoryAssociation
    return fsx.CfnDataRepositoryAssociation(
        stack,
        "FsxBucketLink",
        file_system_id=fs_id,
        file_system_path=LINK_PATH,
        data_repository_path=bucket_path,
        batch_import_meta_data_on_create=True,
        s3=association.S3Property(
            auto_import_policy=association.AutoImportPolicyProperty(events=LINK_EVENTS),
            auto_export_policy=association.AutoExportPolicyProperty(events=LINK_EVENTS),
        ),
    )


def _lustre_configuration(deployment_type: str, bucket_path: str) -> fsx.LustreConfiguration:
    """SCRATCH_2 imports from and exports to the bucket itself; PERSISTENT_2 does it through a
    data repository association (:meth:`FsxFileSystem._link_bucket`)."""
    if deployment_type == "SCRATCH_2":
        return fsx.LustreConfiguration(
            deployment_type=fsx.LustreDeploymentType.SCRATCH_2,
            import_path=bucket_path,
            export_path=bucket_path,
            auto_import_policy=fsx.LustreAutoImportPolicy.NEW_CHANGED_DELETED,
            data_compression_type=fsx.LustreDataCompressionType.LZ4,
        )
    return fsx.LustreConfiguration(
        deployment_type=fsx.LustreDeploymentType.PERSISTENT_2,
        per_unit_storage_throughput=125,
        data_compression_type=fsx.LustreDataCompressionType.LZ4,
    )


def shared_file_system(
    stack: Stack, config: Config, network: Network, bucket: s3.IBucket
) -> SharedFileSystem:
    if config.filesystem == "fsx":
        return FsxFileSystem(stack, config, network, bucket)
    return EfsFileSystem(stack, network)
