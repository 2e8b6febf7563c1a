"""Task images under the rehearsal (issue 20 item 15): a task naming no image runs the stack's
``default_image`` (Amazon ECR Public's ubuntu, not Docker Hub's anonymous pulls), rewritten to
the stack's ECR pull-through cache with ``ecr_pull_through``, and prepare says which it used.

Amazon ECR user guide, "Pulling an image with a pull through cache rule":
``docker pull aws_account_id.dkr.ecr.region.amazonaws.com/ecr-public/repository_name/image_name:tag``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import SAMPLES, rehearse

pytestmark = pytest.mark.slow
CONDITIONAL = SAMPLES / "conditional" / "conditional.wdl"  # its tasks name no image
CACHED = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ecr-public/docker/library/ubuntu:22.04"


def test_an_image_less_task_runs_the_default_image_through_the_pull_through_cache(
    tmp_path: Path,
) -> None:
    done = rehearse(tmp_path, CONDITIONAL, "-c", "ecr_pull_through=public.ecr.aws")
    assert done.returncode == 0, done.stderr[-3000:]
    images = {d["containerProperties"]["image"] for d in done.task_definitions()}
    assert images == {CACHED}
    logs = "".join(p.read_text() for p in (done.folder / "lambda-logs").glob("*Prepare*.log"))
    assert f"names no docker/container image: it runs the stack's default_image {CACHED}" in logs
