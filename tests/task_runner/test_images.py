"""Task images through an ECR pull-through cache (Amazon ECR user guide, "Pulling an image with
a pull through cache rule": ``aws_account_id.dkr.ecr.region.amazonaws.com/docker-hub/library/
image_name:tag``; "For Docker Hub official images, the /library prefix must be included")."""

from __future__ import annotations

from wdl2sfn.task_runner.images import mirrored

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def test_a_docker_hub_official_image_is_pulled_through_the_cache_under_library() -> None:
    mirrors = {"registry-1.docker.io": f"{ECR}/docker-hub"}
    assert mirrored("ubuntu:22.04", mirrors) == f"{ECR}/docker-hub/library/ubuntu:22.04"
    assert mirrored("biocontainers/samtools:1.9", mirrors) == (
        f"{ECR}/docker-hub/biocontainers/samtools:1.9"
    )


def test_an_image_of_another_registry_is_left_as_it_is() -> None:
    mirrors = {"public.ecr.aws": f"{ECR}/ecr-public"}
    assert mirrored("quay.io/biocontainers/bwa:0.7", mirrors) == "quay.io/biocontainers/bwa:0.7"
    assert mirrored("public.ecr.aws/docker/library/ubuntu:22.04", mirrors) == (
        f"{ECR}/ecr-public/docker/library/ubuntu:22.04"
    )
