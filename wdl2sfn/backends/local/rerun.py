"""<run>/rerun: the command line that made a local run, again, with the run's inputs.json;
`resume` reads it back (``rerun_argv``)."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path


def write_rerun(run_dir: Path, argv: list[str], wdl: str, value_options: frozenset[str]) -> None:
    """<run>/rerun: the same command, from the same folder, with this run's inputs.json."""
    kept = _without_inputs(argv, value_options)
    kept = [os.path.abspath(a) if a == wdl else a for a in kept]
    command = [sys.executable, "-m", "wdl2sfn.cli", *kept, "-i", str(run_dir / "inputs.json")]
    text = (
        "#!/bin/sh\n# run this workflow again with the same inputs and options\n"
        f'cd {shlex.quote(os.getcwd())} && exec {shlex.join(command)} "$@"\n'
    )
    path = run_dir / "rerun"
    path.write_text(text)
    path.chmod(0o755)


def _without_inputs(argv: list[str], value_options: frozenset[str]) -> list[str]:
    """argv minus NAME=VALUE inputs and -i (the run's inputs.json holds them all)."""
    out: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg in ("-i", "--input", "--inputs"):
            next(args, None)
        elif arg in value_options:
            out += [arg, next(args, "")]
        elif arg.startswith(("--input=", "--inputs=")):
            continue
        elif "=" in arg and not arg.startswith("-"):
            continue
        else:
            out.append(arg)
    return out


def rerun_argv(rerun: Path) -> tuple[str, list[str]]:
    """(the folder it ran from, the command's arguments after ``wdl2sfn.cli``, without the
    trailing ``"$@"`` and without ``--no-cache``)."""
    words = shlex.split(rerun.read_text().splitlines()[-1])
    folder, argv = words[1], words[words.index("wdl2sfn.cli") + 1 : -1]
    return folder, [a for a in argv if a != "--no-cache"]
