"""Start one process as AWS would start a Lambda function or a Batch container: in a mount
namespace of its own where the file system's mount path is bound to the folder that stands for
it, with exactly the environment the template gives it (and the role's keys), nothing inherited.

``unshare -m --propagation private python -m wdl2sfn.backends.rehearsal.sandbox SPEC -- CMD...``;
SPEC is a JSON file ``{"binds": [[source, target, read_only]], "env": {...}, "keep": [names]}``:
``env`` is set, ``keep`` names variables passed through from the launcher (AWS_BATCH_JOB_ID, ...),
everything else is dropped. A path with no bind is simply absent, as in a container whose job
definition lacks the mount.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

UNSHARE = ("unshare", "--mount", "--propagation", "private")
# Where the stack's file systems are mounted: a sandbox without a bind there sees an empty,
# read-only folder (a container without the mount), never this machine's folder.
FILE_SYSTEM_PATHS = ("/mnt/efs", "/mnt/net")


class SandboxError(RuntimeError):
    """The host cannot give a process a private mount namespace."""


def launcher(spec_path: Path, command: list[str]) -> list[str]:
    """The argv that runs ``command`` under ``spec_path``."""
    if shutil.which("unshare") is None:
        raise SandboxError("the rehearsal needs util-linux's `unshare` (private mount namespaces)")
    return [*UNSHARE, sys.executable, "-m", __name__, str(spec_path), "--", *command]


def image_path() -> str:
    """PATH inside a sandbox: the runner image's Python (this interpreter's) and the system's."""
    return os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/sbin", "/usr/local/bin",
                            "/usr/sbin", "/usr/bin", "/sbin", "/bin"])  # fmt: skip


def write_spec(path: Path, binds: list[tuple[str, str, bool]], env: dict[str, str],
               keep: list[str]) -> Path:  # fmt: skip
    """Write a spec readable only by its owner (it holds the role's keys)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    image = sorted({sys.prefix, str(Path(__file__).resolve().parents[3])})
    with os.fdopen(fd, "w") as f:
        json.dump({"binds": [list(b) for b in binds], "env": env, "keep": keep, "image": image}, f)
    return path


IMAGE_STASH = "/mnt/.wdl2sfn-image"


def _stash_image(image: list[str], binds: list[Any]) -> list[tuple[str, str]]:
    """This machine's Python and wdl2sfn stand for the image: a bind over a folder holding them
    (the runner binds instance scratch at /tmp) must not hide them. Returns (stash, path)."""
    kept = []
    for i, path in enumerate(image):
        if any(path == t or path.startswith(t.rstrip("/") + "/") for _, t, _ in binds):
            stash = f"{IMAGE_STASH}/{os.getpid()}-{i}"
            Path(stash).mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", "--bind", path, stash], check=True)
            kept.append((stash, path))
    return kept


def ensure_mount_points(targets: list[str]) -> None:
    """Bind targets must exist on the host (empty folders: nothing is visible there unbound)."""
    for target in targets:
        Path(target).mkdir(parents=True, exist_ok=True)


def _bind(source: str, target: str, read_only: bool) -> None:
    Path(target).mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "--bind", source, target], check=True)
    if read_only:
        subprocess.run(["mount", "-o", "remount,bind,ro", target], check=True)


def main(argv: list[str]) -> int:
    spec_path, separator, *command = argv
    if separator != "--" or not command:
        print("usage: sandbox SPEC -- COMMAND...", file=sys.stderr)
        return 2
    spec: dict[str, Any] = json.loads(Path(spec_path).read_text())
    bound = {target for _, target, _ in spec["binds"]}
    empty = Path(spec_path).parent / "empty"
    empty.mkdir(exist_ok=True)
    for path in FILE_SYSTEM_PATHS:
        if path in bound or not Path(path).is_dir():
            continue
        if any(target.startswith(path + "/") for target in bound):
            # a mount below it (one run's folder): the rest of the path is the container's own
            # empty folders, as Docker creates them for a mount point
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", path], check=True)
        else:
            _bind(str(empty), path, True)
    kept = _stash_image(spec.get("image", []), spec["binds"])
    for source, target, read_only in spec["binds"]:
        _bind(source, target, bool(read_only))
    for stash, path in kept:
        _bind(stash, path, False)
    env = {"PATH": image_path(), "HOME": "/root", "LANG": "C.UTF-8"}
    env.update({k: os.environ[k] for k in spec.get("keep", []) if k in os.environ})
    env.update(spec["env"])
    os.execvpe(command[0], command, env)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
