"""The one place the CDK app calls the wdl2sfn compiler (at synth time)."""

from __future__ import annotations

from typing import Any, Protocol


class Compiled(Protocol):
    """What the CDK app uses of ``wdl2sfn.compiler.CompiledWorkflow``."""

    name: str
    main: str
    definition: dict[str, Any]
    placeholders: list[str]
    digest: str
    sources: dict[str, str]
    children: dict[str, Compiled]


def compile_wdl(path: str, filesystem: str = "efs") -> Compiled:
    """Compile the WDL workflow at ``path`` for the given shared file system (efs|fsx)."""
    from wdl2sfn.compiler import compile_workflow

    return compile_workflow(path, filesystem=filesystem)
