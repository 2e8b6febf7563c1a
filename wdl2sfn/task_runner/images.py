"""Task images on AWS: the stack's default image for tasks that name none, and image names
rewritten to the stack's ECR pull-through cache.

Why: a task without ``docker``/``container`` used to run ``ubuntu:22.04`` from Docker Hub, pulled
anonymously by every new Batch host, which Docker Hub rate-limits per IP (shared by a NAT
gateway). The CDK app sets ``WDL2SFN_DEFAULT_IMAGE`` (context ``default_image``) and, with
``ecr_pull_through``, ``WDL2SFN_IMAGE_MIRROR``: ``{"<upstream registry>": "<ECR prefix URI>"}``.
Amazon ECR user guide, "Pulling an image with a pull through cache rule": images are pulled as
``aws_account_id.dkr.ecr.region.amazonaws.com/ecr-repository-prefix/repository_name/image_name:tag``
and "For Docker Hub official images, the /library prefix must be included".
"""

from __future__ import annotations

#: Docker Hub's names for one registry: image references without a registry host mean it
DOCKER_HUB = ("docker.io", "registry-1.docker.io", "index.docker.io")


def split_registry(image: str) -> tuple[str, str]:
    """(registry host, repository path and tag) as docker parses a reference: the first
    component is a host only if it has a ``.`` or ``:`` or is ``localhost``; else Docker Hub,
    whose one-component names are official images under ``library/``."""
    first, sep, rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    else:
        host, path = "docker.io", image
    if host in DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    return host, path


def mirrored(image: str, mirrors: dict[str, str]) -> str:
    """The image through the pull-through cache whose upstream registry serves it (unchanged
    when none does)."""
    if not mirrors:
        return image
    host, path = split_registry(image)
    for upstream, prefix in mirrors.items():
        same = upstream == host or (upstream in DOCKER_HUB and host in DOCKER_HUB)
        if same:
            return f"{prefix.rstrip('/')}/{path}"
    return image
