"""Task images: the stack's default image and, with ``ecr_pull_through``, an ECR pull-through
cache rule that task images of that upstream registry are rewritten to.

Amazon ECR user guide, "Sync an upstream registry with an Amazon ECR private registry": "pull
through cache rules provide a way to cache images from an upstream registry in your Amazon ECR
private registry"; images are pulled as
``aws_account_id.dkr.ecr.region.amazonaws.com/ecr-repository-prefix/repository_name/image_name:tag``
("For Docker Hub official images, the /library prefix must be included"). The first pull of an
image creates its repository, so the role that pulls (the Batch hosts' ECS instance role: task
job definitions have no execution role) needs, per "IAM permissions required to sync an upstream
registry", ``ecr:BatchImportUpstreamImage`` ("retrieve the external image and import it to your
private registry") and ``ecr:CreateRepository`` ("required if the repository storing the cached
images doesn't already exist"). The run-time steps rewrite images (wdl2sfn/task_runner/images.py)
from ``WDL2SFN_IMAGE_MIRROR``; tasks naming no image get ``WDL2SFN_DEFAULT_IMAGE``.
"""

from __future__ import annotations

import json

from aws_cdk import Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam

from .config import PULL_THROUGH, Config
from .nag import ack


def image_environment(stack: Stack, config: Config) -> dict[str, str]:
    """The run-time steps' image settings; creates the pull-through cache rule when asked."""
    env = {"WDL2SFN_DEFAULT_IMAGE": config.default_image}
    url = config.ecr_pull_through
    if url is None:
        return env
    prefix = PULL_THROUGH[url]
    ecr.CfnPullThroughCacheRule(
        stack,
        "PullThroughCacheRule",
        ecr_repository_prefix=prefix,
        upstream_registry_url=url,
        credential_arn=config.ecr_pull_through_credential_arn,
    )
    registry = f"{stack.account}.dkr.ecr.{stack.region}.{stack.url_suffix}"
    env["WDL2SFN_IMAGE_MIRROR"] = json.dumps({url: f"{registry}/{prefix}"})
    return env


def grant_pull_through(stack: Stack, config: Config, role: iam.IRole) -> None:
    """Let the image puller import upstream images into the cache's repositories."""
    if config.ecr_pull_through is None:
        return
    prefix = PULL_THROUGH[config.ecr_pull_through]
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="PullThroughCache",
            actions=["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
            resources=[
                stack.format_arn(service="ecr", resource="repository", resource_name=f"{prefix}/*")
            ],
        )
    )
    ack(
        role,
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:"
        f"repository/{prefix}/*]",
        "The pull-through cache creates one repository per upstream image on its first pull; "
        "their names are the task images', known only at run time, all under the rule's prefix.",
    )
