"""Context keys of the CDK app, parsed into a :class:`Config`.

Every key can be given with ``cdk synth -c key=value`` (strings) or in ``cdk.json``/
``CDK_CONTEXT_JSON`` (JSON values). Nothing here looks anything up in an AWS account: an existing
VPC is described entirely by its id, subnets, availability zones and security group.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from wdl2sfn.contract import (
    FUNCTION_STEPS,
    QUEUE_KINDS,
    function_placeholder,
    queue_placeholder,
)

VARIANTS = ("new-vpc", "existing-vpc", "fsx")

FUNCTION_PLACEHOLDERS = {step: function_placeholder(step) for step in FUNCTION_STEPS}
QUEUE_PLACEHOLDERS = {kind: queue_placeholder(kind) for kind in QUEUE_KINDS}

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_WORKFLOW = os.path.join(REPO_ROOT, "sample_wdl", "hello", "hello.wdl")
#: the image of tasks naming none: Docker's official ubuntu from Amazon ECR Public, not Docker
#: Hub's anonymous pulls (rate-limited per IP, shared by every host behind one NAT gateway)
DEFAULT_IMAGE = "public.ecr.aws/docker/library/ubuntu:22.04"
#: upstream registry URL -> the ECR repository prefix its cached images live under (the ECR
#: console's defaults). Amazon ECR user guide, CreatePullThroughCacheRule: "Docker Hub
#: (docker-hub) – registry-1.docker.io", "Amazon ECR Public (ecr-public) – public.ecr.aws",
#: "Quay (quay) – quay.io", "Kubernetes (k8s) – registry.k8s.io", "GitHub Container Registry
#: (github-container-registry) – ghcr.io", "GitLab Container Registry
#: (gitlab-container-registry) – registry.gitlab.com"
PULL_THROUGH = {
    "registry-1.docker.io": "docker-hub",
    "public.ecr.aws": "ecr-public",
    "quay.io": "quay",
    "registry.k8s.io": "kubernetes",
    "ghcr.io": "github",
    "registry.gitlab.com": "gitlab",
}
#: upstream registries that take no anonymous pull-through: a Secrets Manager credential
NEEDS_CREDENTIAL = ("registry-1.docker.io", "ghcr.io", "registry.gitlab.com")


class ConfigError(ValueError):
    """A context value is missing or malformed."""


def _list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return [str(v) for v in json.loads(text)]
        return [v.strip() for v in text.split(",") if v.strip()]
    return [str(v) for v in value]


def _int(ctx: dict[str, Any], key: str, default: int) -> int:
    value = ctx.get(key)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"context {key!r} must be an integer, got {value!r}") from exc
    if number < 0:
        raise ConfigError(f"context {key!r} must be >= 0, got {number}")
    return number


def _pull_through(ctx: dict[str, Any]) -> tuple[str | None, str | None]:
    """``ecr_pull_through`` (an upstream registry URL ECR supports) and its credential: the
    registries that need one (Amazon ECR user guide, pull-through cache) refuse to be without."""
    url = str(ctx.get("ecr_pull_through") or "").strip() or None
    credential = str(ctx.get("ecr_pull_through_credential_arn") or "").strip() or None
    if url is None:
        if credential:
            raise ConfigError("context 'ecr_pull_through_credential_arn' needs 'ecr_pull_through'")
        return None, None
    if url not in PULL_THROUGH:
        raise ConfigError(f"context 'ecr_pull_through' must be one of {', '.join(PULL_THROUGH)} "
                          f"(an upstream registry ECR's pull-through cache supports); got {url!r}")  # fmt: skip
    if url in NEEDS_CREDENTIAL and not credential:
        raise ConfigError(
            f"context 'ecr_pull_through={url}' needs 'ecr_pull_through_credential_arn': a "
            "Secrets Manager secret (name prefix ecr-pullthroughcache/) with the registry's "
            "username and access token"
        )
    return url, credential


def _auto_int(ctx: dict[str, Any], key: str) -> int | None:
    """An integer, or ``auto`` (the default): None, for the stack to derive."""
    if str(ctx.get(key, "auto")).strip().lower() in ("auto", ""):
        return None
    return _int(ctx, key, 0)


def _bool(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _json(value: Any, key: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"context {key!r} must be JSON: {exc}") from exc
    return value


@dataclass(frozen=True)
class Schedule:
    """An EventBridge Scheduler schedule starting the workflow with a fixed inputs object."""

    expression: str  # "rate(1 day)", "cron(0 3 * * ? *)", "at(2030-01-01T00:00:00)"
    inputs: dict[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"


@dataclass(frozen=True)
class Config:
    variant: str = "new-vpc"
    stack_name: str = "wdl2sfn"
    owner: str = ""
    bucket_name: str | None = None
    vpc_id: str | None = None
    subnet_ids: tuple[str, ...] = ()
    availability_zones: tuple[str, ...] = ()
    route_table_ids: tuple[str, ...] = ()
    security_group_id: str | None = None
    max_vcpus: int = 256
    spot_max_vcpus: int = 256
    gpu_max_vcpus: int = 64
    runner_max_vcpus: int | None = None  # None: auto (sizing.py: FSx from the scatters, else 16)
    fsx_deployment_type: str = "SCRATCH_2"
    fsx_storage_gib: int = 1200
    scratch_days: int = 30
    workflows: tuple[str, ...] = (DEFAULT_WORKFLOW,)
    schedule: Schedule | None = None
    endpoints: bool = True
    read_buckets: tuple[str, ...] = ()
    write_buckets: tuple[str, ...] = ()
    default_image: str = DEFAULT_IMAGE
    ecr_pull_through: str | None = None  # an upstream registry URL (images.PULL_THROUGH)
    ecr_pull_through_credential_arn: str | None = None
    kms_key_arns: tuple[str, ...] = ()

    @property
    def filesystem(self) -> str:
        return "fsx" if self.variant == "fsx" else "efs"

    @property
    def mount_path(self) -> str:
        """Where every host and container sees the shared file system."""
        return "/mnt/net" if self.filesystem == "fsx" else "/mnt/efs"

    @property
    def store(self) -> str:
        """The run store's root (DESIGN "The run store")."""
        return f"{self.mount_path}/wdl2sfn/runs"

    @property
    def uses_existing_vpc(self) -> bool:
        return self.vpc_id is not None


def _refuse_contradictions(variant: str, vpc_id: Any, subnet_ids: tuple[str, ...]) -> None:
    """new-vpc creates its own VPC: an existing VPC's keys beside it are a mistake, not a hint."""
    if variant == "new-vpc" and (vpc_id or subnet_ids):
        given = "vpc_id" if vpc_id else "subnet_ids"
        raise ConfigError(
            f"context 'variant=new-vpc' contradicts '{given}': new-vpc creates its own VPC; "
            "use -c variant=existing-vpc (or variant=fsx) with an existing VPC"
        )


def _refuse_orphans(variant: str, vpc_id: Any, subnet_ids: tuple[str, ...], sg: Any) -> None:
    """A subnet or security group belongs to one VPC (Lambda API reference, VpcConfig: the
    security groups and subnets "must belong to the same VPC"); without ``vpc_id`` the stack
    creates a new VPC, so a given one is of another VPC and would fail at deploy, not here."""
    if vpc_id:
        return
    given = [k for k, v in (("subnet_ids", subnet_ids), ("security_group_id", sg)) if v]
    if given:
        raise ConfigError(
            f"context '{given[0]}' without 'vpc_id': variant={variant} creates a new VPC, and "
            f"'{given[0]}' belongs to another one; give -c vpc_id=... of the VPC it is in "
            "(with its subnet_ids), or leave it out"
        )


def _check_existing_vpc(
    variant: str, vpc_id: Any, subnet_ids: tuple[str, ...], azs: tuple[str, ...]
) -> None:
    """An existing VPC is described by context alone: its id and at least two subnets (with
    their AZs, if given, one per subnet)."""
    missing = [k for k, v in (("vpc_id", vpc_id), ("subnet_ids", subnet_ids)) if not v]
    if missing:
        raise ConfigError(
            f"variant {variant!r} with an existing VPC needs context {', '.join(missing)} "
            "(no lookup is made at synth time)"
        )
    if len(subnet_ids) < 2:
        raise ConfigError("context 'subnet_ids' needs at least two subnets (in two AZs)")
    if azs and len(azs) != len(subnet_ids):
        raise ConfigError(
            "context 'availability_zones' must list one AZ per subnet in 'subnet_ids', in order"
        )


def _route_tables(
    ctx: dict[str, Any], vpc_id: Any, subnet_ids: tuple[str, ...], endpoints: bool
) -> tuple[str, ...]:
    """An S3 gateway endpoint attaches to the subnets' route tables, which an existing VPC
    described without lookups cannot supply: endpoints there need them from context."""
    tables = tuple(_list(ctx.get("route_table_ids")))
    if vpc_id and endpoints and not tables:
        raise ConfigError(
            "context 'endpoints=true' with an existing VPC needs 'route_table_ids' (the "
            "subnets' route tables, for the S3 gateway endpoint; one per subnet, or one for all)"
        )
    if tables and len(tables) not in (1, len(subnet_ids)):
        raise ConfigError(
            "context 'route_table_ids' must list one route table per subnet in 'subnet_ids', "
            "in order, or one for all of them"
        )
    return tables


def _fsx_settings(ctx: dict[str, Any]) -> tuple[str, int]:
    """FSx for Lustre's deployment type and size, as FSx accepts them."""
    fsx_type = str(ctx.get("fsx_deployment_type") or "SCRATCH_2").upper()
    if fsx_type not in ("SCRATCH_2", "PERSISTENT_2"):
        raise ConfigError("context 'fsx_deployment_type' must be SCRATCH_2 or PERSISTENT_2")
    fsx_gib = _int(ctx, "fsx_storage_gib", 1200)
    if fsx_gib < 1200 or (fsx_gib != 1200 and fsx_gib % 2400):
        raise ConfigError("context 'fsx_storage_gib' must be 1200 or a multiple of 2400")
    return fsx_type, fsx_gib


KMS_KEY_ARN = re.compile(r"^arn:aws[\w-]*:kms:[\w-]+:\d{12}:key/[\w-]+$")


def _kms_keys(ctx: dict[str, Any]) -> tuple[str, ...]:
    """SSE-KMS keys of the read/write buckets: key ARNs, which is what the grant is scoped to
    (an alias or a key id would match no request, since S3 asks KMS with the key's ARN)."""
    keys = tuple(_list(ctx.get("kms_key_arns")))
    for key in keys:
        if not KMS_KEY_ARN.match(key):
            raise ConfigError(
                f"context 'kms_key_arns' must list KMS key ARNs "
                f"(arn:aws:kms:REGION:ACCOUNT:key/ID); got {key!r}"
            )
    return keys


def _schedule(ctx: dict[str, Any]) -> Schedule | None:
    if not ctx.get("schedule_expression"):
        return None
    inputs = _json(ctx.get("schedule_inputs") or {}, "schedule_inputs")
    if not isinstance(inputs, dict):
        raise ConfigError("context 'schedule_inputs' must be a JSON object")
    return Schedule(
        expression=str(ctx["schedule_expression"]),
        inputs=inputs,
        timezone=str(ctx.get("schedule_timezone") or "UTC"),
    )


#: The most GPUs one instance of the GPU environment's classes has (g4dn.metal, g5.48xlarge and
#: g6.48xlarge: 8 each); the CPU environments' instance types have none.
MAX_GPUS_PER_INSTANCE = 8


def queue_limits(config: Config) -> dict[str, dict[str, int]]:
    """What each task queue's compute environment can ever run (``WDL2SFN_QUEUE_LIMITS``):
    its max vCPUs, and the most GPUs any of its instance types has."""
    return {
        "cpu": {"max_vcpus": config.max_vcpus, "max_gpus": 0},
        "spot": {"max_vcpus": config.spot_max_vcpus, "max_gpus": 0},
        "gpu": {"max_vcpus": config.gpu_max_vcpus, "max_gpus": MAX_GPUS_PER_INSTANCE},
    }


def load_config(ctx: dict[str, Any]) -> Config:
    """Validate the app's context (as ``App.node.try_get_context`` would return it)."""
    variant = str(ctx.get("variant") or "new-vpc")
    if variant not in VARIANTS:
        raise ConfigError(
            f"context 'variant' must be one of {', '.join(VARIANTS)}; got {variant!r}"
        )
    vpc_id = ctx.get("vpc_id") or None
    subnet_ids = tuple(_list(ctx.get("subnet_ids")))
    azs = tuple(_list(ctx.get("availability_zones")))
    sg = ctx.get("security_group_id") or None
    _refuse_contradictions(variant, vpc_id, subnet_ids)
    _refuse_orphans(variant, vpc_id, subnet_ids, sg)
    if variant == "existing-vpc" or vpc_id:
        _check_existing_vpc(variant, vpc_id, subnet_ids, azs)
    max_vcpus = _int(ctx, "max_vcpus", 256)
    fsx_type, fsx_gib = _fsx_settings(ctx)
    workflows = _list(ctx.get("workflows")) or [DEFAULT_WORKFLOW]
    workflows = [w if os.path.isabs(w) else os.path.join(REPO_ROOT, w) for w in workflows]
    schedule = _schedule(ctx)
    endpoints = _bool(ctx.get("endpoints"), default=vpc_id is None)
    pull_through, credential = _pull_through(ctx)
    return Config(
        variant=variant,
        stack_name=str(ctx.get("stack_name") or "wdl2sfn"),
        owner=str(ctx.get("owner") or ""),
        bucket_name=ctx.get("bucket_name") or None,
        vpc_id=vpc_id,
        subnet_ids=subnet_ids,
        availability_zones=azs,
        route_table_ids=_route_tables(ctx, vpc_id, subnet_ids, endpoints),
        security_group_id=sg,
        max_vcpus=max_vcpus,
        spot_max_vcpus=_int(ctx, "spot_max_vcpus", max_vcpus),
        gpu_max_vcpus=_int(ctx, "gpu_max_vcpus", min(64, max_vcpus)),
        runner_max_vcpus=_auto_int(ctx, "runner_max_vcpus"),
        fsx_deployment_type=fsx_type,
        fsx_storage_gib=fsx_gib,
        scratch_days=_int(ctx, "scratch_days", 30),
        workflows=tuple(workflows),
        schedule=schedule,
        endpoints=endpoints,
        read_buckets=tuple(_list(ctx.get("read_buckets"))),
        write_buckets=tuple(_list(ctx.get("write_buckets"))),
        kms_key_arns=_kms_keys(ctx),
        default_image=str(ctx.get("default_image") or DEFAULT_IMAGE),
        ecr_pull_through=pull_through,
        ecr_pull_through_credential_arn=credential,
    )
