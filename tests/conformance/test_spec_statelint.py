"""statelint accepts the compiled definition of every spec example that miniwdl type-checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import WDL

from wdl2sfn.compiler import compile_document, ir
from wdl2sfn.compiler.task_wrapper import pick_task, write_wrapper

from ..compiler.test_compile import KNOWN_STATELINT_GAPS


def compiled_examples(spec_tests: Path, out: Path) -> list[Path]:
    written = []
    for config in sorted(spec_tests.glob("*/config.json")):
        cfg = json.loads(config.read_text())
        try:
            doc = WDL.load(str(config.parent / cfg["path"]))
            if doc.workflow is None:
                doc = WDL.load(str(write_wrapper(doc, pick_task(doc, None))))
        except Exception:  # not valid WDL for miniwdl: out of scope here (see docs/conformance.md)
            continue
        for mode in ("efs", "fsx"):
            compiled = compile_document(doc, ir.Options(filesystem=mode))
            path = out / f"{cfg['id']}.{mode}.json"
            path.write_text(json.dumps(compiled.definition))
            written.append(path)
    return written


def test_statelint_accepts_every_compiled_spec_example(spec_tests: Path, tmp_path: Path):
    files = compiled_examples(spec_tests, tmp_path)
    assert len(files) > 200  # ~120 examples type-check, each in two file-system modes
    statelint = str(Path(sys.executable).parent / "statelint")
    out = subprocess.run([statelint, *map(str, files)], capture_output=True, text=True)
    problems = [
        line.strip()
        for line in (out.stdout + out.stderr).splitlines()
        if line.startswith(" ") and not any(g.search(line) for g in KNOWN_STATELINT_GAPS)
    ]
    assert problems == []
