"""A call's failures as the user sees them: the task, its exit status, the stderr tail, its files."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from ..atomic import write_json_atomic
from ..errors import WdlError, WdlTaskFailed, from_miniwdl
from ..store import RunStore
from .context import TaskContext

STDERR_TAIL_LINES = 20


def read_rc(call_dir: Path) -> int | None:
    try:
        return int((call_dir / "rc").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def read_attempt(call_dir: Path) -> int:
    """The attempt (0 first) whose command ran last, as the job's script recorded it (WDL 1.2
    tasks only; 0 when nothing was recorded)."""
    try:
        return max(0, int((call_dir / "attempt").read_text().strip()))
    except (FileNotFoundError, ValueError):
        return 0


def _tail(path: Path, lines: int = STDERR_TAIL_LINES) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 65536))
            data = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def task_failed(
    ctx: TaskContext,
    call_dir: Path,
    rc: int | None,
    reason: str | None,
    *,
    ran: bool = True,
    **more: Any,
) -> WdlTaskFailed:
    """The call's failure; ``ran=False``: its job never started (refused, never placed), so
    there are no logs to point at and the reason is all there is to say."""
    head = f"task {ctx.call_name} failed"
    if rc is not None:
        head += f" with exit status {rc}"
    if reason:
        head += f": {reason}"
    if not ran:
        return WdlTaskFailed(
            head, call=ctx.call_name, reason=reason, never_ran=True, dir=str(call_dir), **more
        )
    stdout, stderr, command = (
        call_dir / n for n in (RunStore.STDOUT, RunStore.STDERR, RunStore.COMMAND)
    )
    tail = _tail(stderr)
    lines = [head]
    if tail:
        lines += [f"stderr (last {STDERR_TAIL_LINES} lines):", tail]
    lines += [f"stdout: {stdout}", f"stderr: {stderr}", f"command: {command}"]
    return WdlTaskFailed(
        "\n".join(lines),
        call=ctx.call_name,
        exit_code=rc,
        reason=reason,
        stderr_tail=tail,
        stdout_file=str(stdout),
        stderr_file=str(stderr),
        command_file=str(command),
        dir=str(call_dir),
        **more,
    )


def write_error(call_dir: Path, exn: WdlError) -> None:
    with contextlib.suppress(OSError):
        write_json_atomic(call_dir / RunStore.ERROR, exn.error_json())


def translate(exn: BaseException, call: str, what: str) -> WdlError:
    """A miniwdl evaluation error (possibly wrapping one of ours) as a Wdl* error."""
    inner: BaseException | None = exn
    while inner is not None:
        if isinstance(inner, WdlError):
            return type(inner)(f"call {call}: {what}: {inner}", **{**inner.info, "call": call})
        inner = inner.__cause__
    err = from_miniwdl(exn, call)
    return type(err)(f"call {call}: {what}: {exn}", **err.info)
