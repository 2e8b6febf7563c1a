"""What every run-time step sees, wherever it runs (Lambda or a runner Batch job): the runner
image, built from the repository's Dockerfile, and the environment naming the run store."""

from __future__ import annotations

import json

from aws_cdk import Stack
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from .config import REPO_ROOT, Config, queue_limits
from .storage import SharedFileSystem

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
# Instance storage (NVMe, RAID0) or, without it, a folder of the root volume, on every Batch host.
SCRATCH = "/mnt/scratch"


def runner_image(stack: Stack) -> ecr_assets.DockerImageAsset:
    """One image for the Lambda functions and the runner jobs (staged at synth, built at deploy)."""
    return ecr_assets.DockerImageAsset(
        stack,
        "RunnerImage",
        directory=REPO_ROOT,
        file="Dockerfile",
        exclude=IMAGE_EXCLUDES,
        platform=ecr_assets.Platform.LINUX_AMD64,
    )


def step_environment(
    config: Config, bucket: s3.IBucket, job_role: iam.IRole, file_system: SharedFileSystem
) -> dict[str, str]:
    """The run-time steps' environment (Lambda and runner jobs alike)."""
    return {
        "WDL2SFN_STORE": config.store,
        "WDL2SFN_RUN_BUCKET": bucket.bucket_name,
        "WDL2SFN_FILESYSTEM": config.filesystem,
        "WDL2SFN_JOB_ROLE_ARN": job_role.role_arn,
        # where the file system is mounted in every container (tasks' job definitions too)
        "WDL2SFN_MOUNT_PATH": config.mount_path,
        # the instances' scratch volume, bound into task containers for TMPDIR
        "WDL2SFN_TASK_SCRATCH": SCRATCH,
        # what each task queue's compute environment can ever run: prepare refuses more
        "WDL2SFN_QUEUE_LIMITS": json.dumps(queue_limits(config), separators=(",", ":")),
        **file_system.environment,
    }
