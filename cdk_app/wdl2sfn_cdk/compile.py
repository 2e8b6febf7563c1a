"""The one place the CDK app calls the wdl2sfn compiler (at synth time)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Compiled(Protocol):
    """What the CDK app uses of ``wdl2sfn.compiler.CompiledWorkflow`` (read-only members, so a
    CompiledWorkflow, whose children are CompiledWorkflows, is one)."""

    @property
    def name(self) -> str: ...
    @property
    def main(self) -> str: ...
    @property
    def definition(self) -> dict[str, Any]: ...
    @property
    def placeholders(self) -> list[str]: ...
    @property
    def digest(self) -> str: ...
    @property
    def sources(self) -> dict[str, str]: ...
    @property
    def children(self) -> Mapping[str, Compiled]: ...
    def all_machines(self) -> Mapping[str, Compiled]: ...


def compile_wdl(path: str, filesystem: str = "efs") -> Compiled:
    """Compile the WDL workflow at ``path`` for the given shared file system (efs|fsx)."""
    from wdl2sfn.compiler import compile_workflow

    return compile_workflow(path, filesystem=filesystem)


def stack_machine_definitions(filesystem: str = "efs") -> dict[str, dict[str, Any]]:
    """The stack's machines (``wdl2sfn.compiler.stack_machines``) for this file system, by the
    placeholder naming each."""
    from wdl2sfn.compiler.stack_machines import stack_machines

    return stack_machines(filesystem)
