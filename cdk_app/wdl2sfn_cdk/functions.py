"""The run-time steps (init, prepare, collect, eval, finalize) as Lambda functions from the
runner image, in the VPC, with the EFS access point at /mnt/efs. The fsx variant has none (Lambda
cannot mount FSx for Lustre): there the steps run as runner Batch jobs (``compute.py``).

Not a construct of its own: its resources stay children of the stack, so their logical IDs are
the ones they always had (see ``stack.py``).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3

from .access import (
    acknowledge_registrar,
    acknowledge_run_objects,
    acknowledge_unscoped_actions,
    grant_answer_joins,
    grant_bucket,
    grant_register_job_definitions,
)
from .config import FUNCTION_PLACEHOLDERS
from .nag import ack
from .network import Network
from .storage import EfsFileSystem

#: the run-time steps that answer exact joins' task tokens: eval (wait and release steps), and a
#: call's collect, or its prepare on a cache hit, which release the units waiting for the call
JOIN_ANSWERERS = ("eval", "prepare", "collect")
LAMBDA_HANDLER = "wdl2sfn.task_runner.lambda_entry.handler"
STEPS = tuple(FUNCTION_PLACEHOLDERS)
LAMBDA_POLICIES = ("AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole")


class Functions:
    """``functions``: step name -> its Lambda function (the placeholders ``<Step>FunctionArn``)."""

    def __init__(
        self,
        stack: Stack,
        *,
        network: Network,
        file_system: EfsFileSystem,
        bucket: s3.IBucket,
        job_role: iam.IRole,
        image: ecr_assets.DockerImageAsset,
        environment: dict[str, str],
    ) -> None:
        self.stack = stack
        self.network = network
        self.image = image
        self.environment = environment
        self.mount = lambda_.FileSystem.from_efs_access_point(file_system.access_point, "/mnt/efs")
        self.functions: dict[str, lambda_.IFunction] = {}
        for step in STEPS:
            fn = self._function(step)
            grant_bucket(bucket, fn)
            file_system.efs.grant_root_access(fn)
            if step == "prepare":
                grant_register_job_definitions(stack, fn, job_role)
            if step in JOIN_ANSWERERS:
                grant_answer_joins(fn)
            self.functions[step] = fn
        self._acknowledge(bucket)

    def _function(self, step: str) -> lambda_.DockerImageFunction:
        name = step.capitalize()
        log_group = logs.LogGroup(
            self.stack,
            f"{name}FunctionLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        return lambda_.DockerImageFunction(
            self.stack,
            f"{name}Function",
            description=f"wdl2sfn run-time step: {step}",
            code=lambda_.DockerImageCode.from_ecr(
                self.image.repository, tag_or_digest=self.image.image_tag, cmd=[LAMBDA_HANDLER]
            ),
            architecture=lambda_.Architecture.X86_64,
            memory_size=2048 if step in ("prepare", "collect") else 1024,
            timeout=Duration.minutes(10),
            vpc=self.network.vpc,
            vpc_subnets=self.network.subnets,
            security_groups=[self.network.compute_sg],
            filesystem=self.mount,
            environment={**self.environment, "WDL2SFN_STEP": step},
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
        )

    def _acknowledge(self, bucket: s3.IBucket) -> None:
        acknowledge_registrar(self.functions["prepare"])
        for fn in self.functions.values():
            acknowledge_run_objects(fn, bucket)
            acknowledge_unscoped_actions(fn)
            for policy in LAMBDA_POLICIES:
                ack(
                    fn,
                    f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{policy}]",
                    "AWS-maintained minimal policies for a Lambda function's logs and VPC ENIs.",
                )
