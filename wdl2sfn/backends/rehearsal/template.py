"""Synthesize the CDK app in-process: the templates the rehearsal provisions from.

The app is the installed ``wdl2sfn_cdk`` package (shipped from ``cdk_app/``: the same code
``cdk deploy`` runs), built with the
given context keys (``-c variant=fsx`` ...) and cdk-nag on, into a cloud assembly folder that
also holds the assets the BucketDeployments copy.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...contract.settings import load_settings

REPO_ROOT = Path(__file__).resolve().parents[3]  # a source checkout, when run from one
CHECKOUT_SOURCES = ("cdk_app", "wdl2sfn", "sample_wdl", "Dockerfile", "pyproject.toml")


class SynthError(RuntimeError):
    """The CDK app could not be synthesized (bad context key, cdk-nag finding, no cdk_app/)."""


@dataclass
class Synthesized:
    stack: str
    template: dict[str, Any]
    assembly_dir: Path
    variant: str
    filesystem: str  # efs | fsx


def parse_context(pairs: list[str]) -> dict[str, Any]:
    """``-c KEY=VALUE`` pairs, as the CDK CLI passes them (strings)."""
    context: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SynthError(f"-c {pair!r}: expected KEY=VALUE (a CDK context key)")
        context[key.strip()] = value
    return context


def synthesize(context: dict[str, Any], outdir: Path) -> Synthesized:
    """The synthesized app for ``context``: from the synth cache when the same sources and
    context were synthesized before (``WDL2SFN_SYNTH_CACHE``, default ``~/.cache/wdl2sfn/synth``;
    set it to ``off`` to always synthesize), else synthesized into ``outdir``."""
    configured = load_settings().synth_cache
    cache = configured if configured is not None else str(Path.home() / ".cache/wdl2sfn/synth")
    if cache == "off":
        return _synthesize(context, outdir)
    folder = Path(cache) / _synth_key(context)
    meta = folder / "synthesized.json"
    if not meta.is_file():
        shutil.rmtree(folder, ignore_errors=True)  # a partial one
        made = _synthesize(context, folder.with_name(folder.name + f".tmp{os.getpid()}"))
        record = {k: getattr(made, k) for k in ("stack", "variant", "filesystem")}
        (made.assembly_dir / meta.name).write_text(json.dumps(record))
        try:
            os.replace(made.assembly_dir, folder)
        except OSError:  # another rehearsal made it meanwhile: use theirs
            shutil.rmtree(made.assembly_dir, ignore_errors=True)
    record = json.loads(meta.read_text())
    template = json.loads((folder / f"{record['stack']}.template.json").read_text())
    return Synthesized(template=template, assembly_dir=folder, **record)


def _synth_key(context: dict[str, Any]) -> str:
    """A digest of the context and of every source file the synthesized app depends on (the CDK
    app, the package it compiles with and stages as the runner image, the sample workflows)."""
    import hashlib

    digest = hashlib.sha256(json.dumps(context, sort_keys=True).encode())
    base, tops = _sources()
    for root in tops:
        files = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in files:
            if path.is_file() and "__pycache__" not in path.parts and "cdk.out" not in path.parts:
                digest.update(str(path.relative_to(base)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def _sources() -> tuple[Path, list[Path]]:
    """What the synthesized app depends on: the checkout's sources when running from one, else
    the installed packages (``wdl2sfn`` and ``wdl2sfn_cdk``) beside each other."""
    if (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "cdk_app").is_dir():
        return REPO_ROOT, [REPO_ROOT / top for top in CHECKOUT_SOURCES]
    from importlib.util import find_spec

    packages = [Path(__file__).resolve().parents[2]]
    spec = find_spec("wdl2sfn_cdk")
    if spec is not None and spec.origin:
        packages.append(Path(spec.origin).parent)
    return Path(os.path.commonpath([p.parent for p in packages])), packages


def _synthesize(context: dict[str, Any], outdir: Path) -> Synthesized:
    """Build and synthesize the app; the stack's template and where its assets are."""
    from .extra import RehearsalNotInstalled, require_rehearse_extra

    try:
        require_rehearse_extra()
    except RehearsalNotInstalled as exn:
        raise SynthError(str(exn)) from exn
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    from wdl2sfn_cdk.app import NagError, build_app, synth
    from wdl2sfn_cdk.config import ConfigError

    shutil.rmtree(outdir, ignore_errors=True)
    try:
        app, stack = build_app(context, outdir=str(outdir))
        assembly = synth(app)
    except (ConfigError, NagError) as exn:
        raise SynthError(f"cdk app: {exn}") from exn
    template = assembly.get_stack_by_name(stack.stack_name).template
    return Synthesized(
        stack=stack.stack_name,
        template=template,
        assembly_dir=outdir,
        variant=stack.config.variant,
        filesystem=stack.config.filesystem,
    )


def keep_templates(synthesized: Synthesized, folder: Path) -> list[Path]:
    """Copies of the rehearsed ``*.template.json`` files in the run folder."""
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for path in sorted(synthesized.assembly_dir.glob("*.template.json")):
        target = folder / path.name
        target.write_text(json.dumps(json.loads(path.read_text()), indent=1))
        copies.append(target)
    return copies
