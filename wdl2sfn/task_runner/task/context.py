"""What a call is: where and how it runs (TaskContext), and its task's declarations."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import WDL

from ..localize import local_paths

RUNTIME_OVERRIDE_NAMESPACES = ("runtime", "requirements")


@dataclass
class TaskContext:
    """Where and how one call runs."""

    call_dir: Path
    call_name: str
    job_name: str
    queues: dict[str, str]
    job_definitions: Any
    store_root: Path
    cache_root: Path | None
    copy_input_files: bool = False
    mount: dict[str, Any] = field(default_factory=dict)
    default_image: str = "ubuntu:22.04"
    #: upstream registry -> ECR pull-through cache prefix (images.mirrored); empty: none
    image_mirrors: dict[str, str] = field(default_factory=dict)
    #: the default image is the stack's (``WDL2SFN_DEFAULT_IMAGE``): prepare says when it is used
    stack_default_image: bool = False
    #: run options (`run --env`, `--runtime-defaults`): task environment, runtime defaults
    env: dict[str, str] = field(default_factory=dict)
    runtime_defaults: dict[str, Any] = field(default_factory=dict)
    #: the user's input files (device, inode): never made read-only, whatever name they have
    user_inodes: frozenset[tuple[int, int]] = frozenset()
    #: the stack's queues' limits (``WDL2SFN_QUEUE_LIMITS``: kind -> max_vcpus, max_gpus), or
    #: None (a local run): a call above them could never leave RUNNABLE
    queue_limits: dict[str, dict[str, int]] | None = None
    #: the run's ``_jobdefs`` folder on AWS (job definitions registered once per run, one
    #: prepare at a time: registry.py); None locally (one process registers)
    job_definition_registry: Path | None = None


@dataclass
class Prepared:
    cached: bool
    job: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {"cached": self.cached, "job": self.job}


def task_decls(task: WDL.Tree.Task) -> list[WDL.Tree.Decl]:
    return list(task.inputs or []) + list(task.postinputs)


def decl_bindings(
    task: WDL.Tree.Task, env: WDL.Env.Bindings[WDL.Value.Base]
) -> WDL.Env.Bindings[WDL.Value.Base]:
    ans: WDL.Env.Bindings[WDL.Value.Base] = WDL.Env.Bindings()
    for decl in reversed(task_decls(task)):
        if env.has_binding(decl.name):
            ans = ans.bind(decl.name, env[decl.name])
    return ans


def decl_types(task: WDL.Tree.Task) -> WDL.Env.Bindings[WDL.Type.Base]:
    ans: WDL.Env.Bindings[WDL.Type.Base] = WDL.Env.Bindings()
    for decl in reversed(task_decls(task)):
        ans = ans.bind(decl.name, decl.type)
    return ans


def trusted_paths(env: WDL.Env.Bindings[WDL.Value.Base]) -> set[str]:
    """Localized input paths and what they resolve to (a symlinked input may point outside the
    call directory; it is still the call's own input)."""
    ans: set[str] = set()
    for p, _d in local_paths(env):
        ans.add(os.path.abspath(p))
        ans.add(os.path.realpath(p))
    return ans


def is_wdl12(task: WDL.Tree.Task) -> bool:
    version = task.effective_wdl_version
    return version not in ("draft-2", "1.0", "1.1")
