"""The network: a new VPC (two AZs, one NAT gateway, rejected traffic in flow logs) or an existing
one described by context alone, the security groups of compute and of the file system, and the
VPC endpoints (S3 gateway, interface endpoints for the AWS APIs the jobs and functions call).

Not a construct of its own: its resources stay children of the stack, so their logical IDs and
``Name`` tags (which CDK derives from construct paths) are the ones they always had.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs

from .config import Config

# Interface endpoints (construct id prefix -> service) a private subnet needs without NAT.
ENDPOINT_SERVICES = {
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


class Network:
    """``vpc`` and ``subnets`` (where everything runs), ``compute_sg`` (shared by Batch
    instances, Fargate tasks and Lambda ENIs) and ``fs_sg`` (the file system's own group, open
    only to the compute group on its ports)."""

    def __init__(self, stack: Stack, config: Config) -> None:
        self.stack = stack
        self.config = config
        if config.uses_existing_vpc:
            self.vpc, self.subnets = self._existing_vpc()
        else:
            self.vpc, self.subnets = self._new_vpc()
        self.compute_sg = self._compute_group()
        self.fs_sg = ec2.SecurityGroup(
            stack,
            "FileSystemSg",
            vpc=self.vpc,
            description=f"wdl2sfn shared file system ({config.filesystem})",
            allow_all_outbound=config.filesystem == "fsx",
        )
        if config.endpoints:
            self._endpoints()

    def _existing_vpc(self) -> tuple[ec2.IVpc, ec2.SubnetSelection]:
        """Described by context (no lookup). Without the subnets' AZs (context
        availability_zones), the stack's own AZ tokens stand in: they are only used to describe
        the subnets, never to place anything."""
        cfg, stack = self.config, self.stack
        azs = list(cfg.availability_zones) or list(stack.availability_zones)[: len(cfg.subnet_ids)]
        while len(azs) < len(cfg.subnet_ids):
            azs.append(azs[-1])
        tables = list(cfg.route_table_ids)
        if len(tables) == 1:
            tables *= len(cfg.subnet_ids)
        vpc = ec2.Vpc.from_vpc_attributes(
            stack,
            "Vpc",
            vpc_id=cfg.vpc_id,  # type: ignore[arg-type]
            availability_zones=azs,
            private_subnet_ids=list(cfg.subnet_ids),
            private_subnet_route_table_ids=tables or None,
        )
        subnets = [
            ec2.Subnet.from_subnet_attributes(
                stack,
                f"Subnet{i}",
                subnet_id=sid,
                availability_zone=az,
                route_table_id=tables[i] if tables else None,
            )
            for i, (sid, az) in enumerate(zip(cfg.subnet_ids, azs, strict=True))
        ]
        return vpc, ec2.SubnetSelection(subnets=subnets)

    def _new_vpc(self) -> tuple[ec2.IVpc, ec2.SubnetSelection]:
        flow_logs = logs.LogGroup(
            self.stack,
            "FlowLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        vpc = ec2.Vpc(
            self.stack,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr("10.80.0.0/16"),
            max_azs=2,
            nat_gateways=1,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=19
                ),
            ],
            flow_logs={
                "all": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                    traffic_type=ec2.FlowLogTrafficType.REJECT,
                )
            },
        )
        return vpc, ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

    def _compute_group(self) -> ec2.ISecurityGroup:
        """The given ``security_group_id`` (left as it is), or a new group open outbound."""
        if self.config.security_group_id:
            return ec2.SecurityGroup.from_security_group_id(
                self.stack, "ComputeSg", self.config.security_group_id, mutable=False
            )
        return ec2.SecurityGroup(
            self.stack,
            "ComputeSg",
            vpc=self.vpc,
            description="wdl2sfn Batch instances, Fargate tasks and Lambda functions",
            allow_all_outbound=True,
        )

    def _endpoints(self) -> None:
        """The S3 gateway endpoint, and interface endpoints reachable (HTTPS) from compute only."""
        self.vpc.add_gateway_endpoint(
            "S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[self.subnets]
        )
        endpoint_sg = ec2.SecurityGroup(
            self.stack,
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
        for name, service in ENDPOINT_SERVICES.items():
            self.vpc.add_interface_endpoint(
                f"{name}Endpoint",
                service=service,
                subnets=self.subnets,
                security_groups=[endpoint_sg],
                private_dns_enabled=True,
                open=False,
            )

    def first_subnet(self) -> ec2.ISubnet:
        """The subnet of single-subnet resources (FSx for Lustre)."""
        selection = self.subnets
        if selection.subnets:
            return self.vpc.select_subnets(subnets=selection.subnets).subnets[0]
        return self.vpc.select_subnets(subnet_type=selection.subnet_type).subnets[0]
