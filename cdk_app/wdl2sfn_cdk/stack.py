"""The shared infrastructure: ``Wdl2SfnStack`` composes one part per concern.

- ``network.Network``: the VPC (new, or existing by context), its subnets, security groups and
  VPC endpoints;
- ``storage.RunBucket`` and ``storage.EfsFileSystem``/``FsxFileSystem``: the run bucket (access
  logs, lifecycle) and the shared file system;
- ``access.Roles``: the Batch jobs' roles, and the grants every part gives;
- ``compute.Compute``: Batch launch templates, compute environments, queues, the runner job
  definition;
- ``functions.Functions``: the run-time steps as Lambda functions (EFS variants only);
- ``calls.StackMachine``: the call machine every call of every workflow runs as, the start
  machine running each run's init and the finish machine its outputs and upload;
- ``waits.FailedWaits``: FSx only, the Batch FAILED rule answering join waits' tokens;
- ``exports.Exports``: the outputs ``wdl2sfn deploy`` reads and the role of the machines it
  creates;
- ``cli_user.CliUserPolicy``: the managed policy for users of the CLI (``CliUserPolicyArn``).

One stack per deployment. The three variants differ only in the network (a new VPC or a given
one) and the shared file system (EFS, or FSx for Lustre, which Lambda cannot mount: with FSx the
run-time steps run as Batch jobs on the runner queue instead of Lambda functions).

The parts are plain classes, not nested constructs, on purpose: every resource stays a direct
child of the stack with the construct id it has always had. CDK derives logical IDs, and also
``Name`` tags (VPC, subnets) and launch template names, from construct paths: nesting the
resources one level deeper would rename them all, and CloudFormation would replace them on the
next deploy. The parts are built in the order the resources appear in the template.
"""

from __future__ import annotations

from typing import Any, cast

from aws_cdk import CfnElement, Stack, Tags
from constructs import Construct

from wdl2sfn.contract import STACK_TAG

from .access import Roles, grant_extra_buckets
from .calls import StackMachine, stack_machines
from .cli_user import CliUserPolicy
from .compute import Compute
from .config import Config
from .exports import Exports, placeholder_values
from .functions import Functions
from .images import grant_pull_through, image_environment
from .nag import ack
from .network import Network
from .runtime import runner_image, step_environment
from .storage import EfsFileSystem, RunBucket, shared_file_system
from .waits import FailedWaits

__all__ = ["Wdl2SfnStack", "ack"]


class Wdl2SfnStack(Stack):
    """Everything a wdl2sfn state machine needs, with its ARNs as the compiler's placeholders.

    What other modules use: ``config``, ``bucket``, ``queues``, ``functions`` (empty with FSx),
    ``runner_job_definition``, ``placeholders``; the parts are ``network``, ``run_bucket``,
    ``roles``, ``file_system``, ``compute``, ``steps`` (None with FSx) and ``exports``.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: Config, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        if config.owner:
            Tags.of(self).add("Owner", config.owner)
        Tags.of(self).add(STACK_TAG, construct_id)

        self.network = Network(self, config)
        self.run_bucket = RunBucket(self, config)
        self.bucket = self.run_bucket.bucket
        self.roles = Roles(self, self.bucket)
        self.job_role, self.runner_role = self.roles.job_role, self.roles.runner_role
        self.image = runner_image(self)
        self.file_system = shared_file_system(self, config, self.network, self.bucket)
        environment = step_environment(config, self.bucket, self.job_role, self.file_system)
        environment.update(image_environment(self, config))
        self.compute = Compute(
            self,
            config,
            network=self.network,
            file_system=self.file_system,
            roles=self.roles,
            image=self.image,
            environment=environment,
        )
        self.queues = self.compute.queues
        grant_pull_through(self, config, self.compute.instance_role)
        #: the runner environment's max vCPUs (app.build_stack sizes it once workflows compiled)
        self.runner_max_vcpus = config.runner_max_vcpus
        self.runner_job_definition = self.compute.runner_job_definition
        self.steps = self._functions({**environment, **self._stack_arns()})
        # FSx join waits are runner jobs: one that FAILED before answering fails its run
        self.failed_waits = None if self.steps else FailedWaits(self, self.queues["runner"])
        self.functions = self.steps.functions if self.steps else {}
        readers = [self.job_role, self.runner_role, *self.functions.values()]
        grant_extra_buckets(self, config, readers, self.runner_role)
        self.stack_machines: dict[str, StackMachine] = {}
        self.stack_machines = stack_machines(self, self.placeholders)
        self.exports = Exports(self, fs_id=self.file_system.fs_id, job_role=self.job_role)
        self.cli_user = CliUserPolicy(self)

    def _stack_arns(self) -> dict[str, str]:
        """The Lambda functions' WDL2SFN_QUEUES and WDL2SFN_RUNNER: an EFS machine no longer
        carries the queue and runner ARNs in init's and outputs' events (issue 25, fewer bytes
        per workflow). Not the runner job definition's own environment: it would name itself."""
        queues = {kind: self.queues[kind].job_queue_arn for kind in ("cpu", "spot", "gpu")}
        runner = {
            "queue": self.queues["runner"].job_queue_arn,
            "definition": self.runner_job_definition.job_definition_arn,
        }
        return {
            "WDL2SFN_QUEUES": self.to_json_string(queues),
            "WDL2SFN_RUNNER": self.to_json_string(runner),
        }

    def _functions(self, environment: dict[str, str]) -> Functions | None:
        """The run-time steps as Lambda functions, which only EFS allows."""
        if not isinstance(self.file_system, EfsFileSystem):
            return None
        return Functions(
            self,
            network=self.network,
            file_system=self.file_system,
            bucket=self.bucket,
            job_role=self.job_role,
            image=self.image,
            environment=environment,
        )

    @property
    def placeholders(self) -> dict[str, str]:
        """Every placeholder this stack resolves, to the value it substitutes."""
        values = placeholder_values(
            self.queues, self.runner_job_definition, self.bucket, self.functions
        )
        for placeholder, machine in self.stack_machines.items():
            values[placeholder] = machine.machine.state_machine_arn
        return values

    def acknowledge_cdk_singletons(self) -> None:
        """Acknowledge findings on the handlers CDK itself adds (call after all constructs)."""
        bucket = self.get_logical_id(cast(CfnElement, self.bucket.node.default_child))
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
