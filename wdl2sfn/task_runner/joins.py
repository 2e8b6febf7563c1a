"""Exact joins: a unit starts when the units it depends on in other lanes are done.

Where a region's DAG is not series-parallel the compiler emits lanes (docs/design.md): a unit
that depends on units of other lanes starts with a *wait* step, a `.waitForTaskToken` Task whose
task token it registers here; each unit that others wait for ends with a *release* step that marks
it done and answers the tokens of waiters whose dependencies are now all done. A call unit has
no release step: its collect (or its prepare, on a cache hit) releases (`release_call`).

Race-free with no lock: both sides write their own marker first and read the other side's after
(`wait/<unit>.json` holding the token and what it waits for, `done/<unit>`), so whichever comes
last sees everything and answers; `sent/<unit>`, created exclusively (O_EXCL), makes sure the
token is answered once. Markers live in the run store under `_joins/<shard path>/`, one folder per
region instance, so shards and runs never meet. A retried wait (new token) answers itself if the
dependencies are already done.

Both steps come through the Eval step (`"join": "wait" | "release"` in its event): the Eval
Lambda function with EFS; with FSx a runner Batch job, the wait's submitted by
`aws-sdk:batch:submitJob.waitForTaskToken`. Such a job answers its own token with
SendTaskFailure when its step fails (`fail_wait`), so a broken wait fails its state instead of
waiting forever. Answers go out through `answers.py` (in-process, a local answer file, or the
Step Functions API).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .answers import answerer
from .atomic import write_bytes_atomic
from .store import RunStore, shard_parts

Send = Callable[[str], None]


def handle_join(settings: Any, event: dict[str, Any]) -> dict[str, Any]:
    """The `wait` or `release` step of one unit instance."""
    run_dir = settings.store.run_dir(event["run"])
    folder = run_dir.joinpath(RunStore.JOINS, *shard_parts(event.get("shard") or ()))
    scope = event.get("scope")
    full = (lambda ref: f"{scope}/{ref}") if scope else (lambda ref: ref)
    answer = answerer(settings, run_dir)

    def send(token: str) -> None:
        answer(token, "{}", None)

    if event["join"] == "wait":
        after = [full(r) for r in event["after"]]
        return wait(folder, event["node"], after, event["token"], send)
    return release(folder, event["node"], [full(r) for r in event["waiters"]], send)


def release_call(settings: Any, event: dict[str, Any], node: str) -> dict[str, Any]:
    """The release of a call unit, done by its own collect (or prepare, on a cache hit):
    `node` is the call's full reference, `event["waiters"]` relative to its scope as in a
    release step's event."""
    keys = ("run", "shard", "scope", "waiters")
    return handle_join(settings, {**{k: event[k] for k in keys if k in event},
                                  "join": "release", "node": node})  # fmt: skip


def wait(folder: Path, node: str, after: list[str], token: str, send: Send) -> dict[str, Any]:
    """Register `node`'s token; answer it at once if everything it waits for is done."""
    body = json.dumps({"token": token, "after": after}).encode()
    write_bytes_atomic(folder / "wait" / f"{_key(node)}.json", body)
    return {"answered": _answer_if_ready(folder, node, send)}


def release(folder: Path, node: str, waiters: list[str], send: Send) -> dict[str, Any]:
    """Mark `node` done; answer every registered waiter whose dependencies are all done."""
    write_bytes_atomic(folder / "done" / _key(node), b"{}")
    return {"answered": [w for w in waiters if _answer_if_ready(folder, w, send)]}


def _answer_if_ready(folder: Path, node: str, send: Send) -> bool:
    try:
        registered = json.loads((folder / "wait" / f"{_key(node)}.json").read_text())
    except FileNotFoundError:
        return False  # not waiting yet: its own wait step will see this release
    if not all((folder / "done" / _key(dep)).exists() for dep in registered["after"]):
        return False
    token = str(registered["token"])
    if not _claim(folder / "sent" / _key(node), token):
        return False
    send(token)
    return True


def _claim(path: Path, token: str) -> bool:
    """Exactly one answer per token: create `path` exclusively (or take over a retried wait's
    stale claim, whose token no longer waits)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        if path.read_text() == token:
            return False
        path.write_text(token)
        return True
    with os.fdopen(fd, "w") as f:
        f.write(token)
    return True


def _key(ref: str) -> str:
    """A node reference as one file name."""
    return quote(ref, safe="")


def fail_wait(settings: Any, event: dict[str, Any], exn: BaseException) -> None:
    """A wait job whose step raised answers its own token with the error (invariant 7: the
    exception's class name is the error), so its state fails now rather than never."""
    token = event.get("token")
    if not token or event.get("join") != "wait":
        return
    run_dir = settings.store.run_dir(event["run"])
    cause = json.dumps({"errorMessage": str(exn), "errorType": type(exn).__name__})
    answerer(settings, run_dir)(str(token), None, (type(exn).__name__, cause))
