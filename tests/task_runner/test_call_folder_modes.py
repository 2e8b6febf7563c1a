"""A task whose image runs as a user other than root can write its call folder (issue 20 item 16).

prepare runs as root (the runner, or a Lambda function on EFS) and creates the call folder; the
task's job runs as its image's user (a registered job definition names no ``user``) and writes
``stdout.txt``, ``stderr.txt`` and ``rc`` there and recreates ``work/``. AWS Batch API reference,
ContainerProperties ``user`` (https://docs.aws.amazon.com/batch/latest/APIReference/API_ContainerProperties.html):
"The user name to use inside the container. This parameter maps to User in the Create a container
section of the Docker Remote API and the --user option to docker run." -- unset, the image's USER
applies.
"""

from __future__ import annotations

import stat
from pathlib import Path

import WDL

from wdl2sfn.task_runner.task import prepare_task

from .test_task_failures import load_task, make_ctx


def test_prepare_leaves_the_call_folder_and_its_work_folder_writable_by_any_user(
    tmp_path: Path,
) -> None:
    task = load_task(tmp_path, "task t { command <<< echo hi >>> }")
    ctx = make_ctx(tmp_path)
    prepare_task(task, WDL.Env.Bindings(), ctx)
    for folder in (Path(ctx.call_dir), Path(ctx.call_dir) / "work"):
        mode = stat.S_IMODE(folder.stat().st_mode)
        assert mode & 0o777 == 0o777, f"{folder}: {oct(mode)}"
