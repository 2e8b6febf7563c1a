"""Task images (issue 20 item 15): tasks naming no image get the stack's ``default_image`` (not
Docker Hub's anonymous pulls), and ``ecr_pull_through`` adds an ECR pull-through cache rule that
task images of its upstream registry are rewritten to.

Amazon ECR user guide, "Pulling an image with a pull through cache rule":
``docker pull aws_account_id.dkr.ecr.region.amazonaws.com/docker-hub/library/image_name:tag``;
"IAM permissions required to sync an upstream registry": ``ecr:BatchImportUpstreamImage`` and
``ecr:CreateRepository`` ("required if the repository storing the cached images doesn't already
exist").
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from wdl2sfn_cdk import ConfigError, load_config

from . import conftest
from .conftest import VARIANTS, Synth

SECRET = "arn:aws:secretsmanager:us-east-1:111122223333:secret:ecr-pullthroughcache/hub-AbCdEf"


@pytest.fixture(scope="module")
def cached(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    VARIANTS["pull-through"] = {
        **VARIANTS["new-vpc"],
        "ecr_pull_through": "registry-1.docker.io",
        "ecr_pull_through_credential_arn": SECRET,
    }
    try:
        return conftest.synthesize("pull-through", tmp_path_factory)
    finally:
        del VARIANTS["pull-through"]


def step_variables(synth: Synth) -> list[dict[str, Any]]:
    functions = synth.resources("AWS::Lambda::Function").values()
    return [f["Properties"]["Environment"]["Variables"] for f in functions
            if "WDL2SFN_STEP" in f["Properties"].get("Environment", {}).get("Variables", {})]  # fmt: skip


def test_tasks_without_an_image_default_to_ecr_public_not_docker_hub(new_vpc: Synth) -> None:
    variables = step_variables(new_vpc)
    assert variables
    images = {v["WDL2SFN_DEFAULT_IMAGE"] for v in variables}
    assert images == {"public.ecr.aws/docker/library/ubuntu:22.04"}
    assert all("WDL2SFN_IMAGE_MIRROR" not in v for v in variables)


def test_ecr_pull_through_creates_the_rule_and_rewrites_task_images(cached: Synth) -> None:
    (rule,) = cached.resources("AWS::ECR::PullThroughCacheRule").values()
    assert rule["Properties"] == {
        "EcrRepositoryPrefix": "docker-hub",
        "UpstreamRegistryUrl": "registry-1.docker.io",
        "CredentialArn": SECRET,
    }
    mirrors = [json.dumps(v["WDL2SFN_IMAGE_MIRROR"]) for v in step_variables(cached)]
    assert mirrors and all("registry-1.docker.io" in m and "/docker-hub" in m for m in mirrors)


def test_the_batch_hosts_may_import_upstream_images_into_the_cache(cached: Synth) -> None:
    statements = [
        s
        for p in cached.resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "PullThroughCache"
    ]
    assert statements
    assert sorted(statements[0]["Action"]) == [
        "ecr:BatchImportUpstreamImage",
        "ecr:CreateRepository",
    ]
    assert "repository/docker-hub/*" in json.dumps(statements[0]["Resource"])


def test_docker_hub_without_a_credential_names_both_keys() -> None:
    with pytest.raises(ConfigError, match=r"'ecr_pull_through=registry-1.docker.io'.*"
                       r"'ecr_pull_through_credential_arn'"):  # fmt: skip
        load_config({"ecr_pull_through": "registry-1.docker.io"})


def test_the_functions_have_the_stacks_queues_and_runner(new_vpc: Synth) -> None:
    """An EFS machine names no queue (issue 25): init, prepare and finalize read
    WDL2SFN_QUEUES / WDL2SFN_RUNNER, CloudFormation-resolved JSON of the stack's ARNs."""
    variables = step_variables(new_vpc)
    queues = {logical for logical in new_vpc.resources("AWS::Batch::JobQueue")}
    for v in variables:
        text = json.dumps([v["WDL2SFN_QUEUES"], v["WDL2SFN_RUNNER"]])
        named = {logical for logical in queues if logical in text}
        assert len(named) == 4  # cpu, spot, gpu, runner
        assert '\\"definition\\"' in text and "JobDefinition" in text
