#!/usr/bin/env python3
"""Benchmark: state-name problems (`#N` counters, cut words, cut roles, duplicates, over 80
characters) over the samples, the test fixtures, the generated long-name shapes of
`tests/compiler/name_shapes.py` and any folders of WDL given, in EFS and FSx mode.

Not a test (`tests/compiler/test_name_shapes.py` checks the samples and shapes).

    python bench/names.py [FOLDER ...]     # e.g. the extracted conformance tests
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.compiler.name_shapes import SHAPES, name_problems, words  # noqa: E402
from tests.compiler.test_compile import all_states  # noqa: E402
from wdl2sfn.compiler import compile_workflow  # noqa: E402


def problems(path: Path, mode: str) -> tuple[int, list[str]]:
    """(state names, problems) of every machine `path` compiles to; ([], 0) if it does not."""
    vocabulary = set().union(*(words(p.read_text()) for p in path.parent.glob("*.wdl")))
    vocabulary |= imported_words(path)
    try:
        compiled = compile_workflow(str(path), filesystem=mode)
    except Exception:  # noqa: BLE001 - not every spec example compiles (task-only documents)
        return 0, []
    count, found = 0, []
    for definition in [compiled.definition] + [
        m.definition for m in compiled.all_machines().values()
    ]:
        names = [n for n, _ in all_states(definition["States"])]
        count += len(names)
        found += name_problems(names, vocabulary)
    return count, found


_IMPORT = re.compile(r'^\s*import\s+"([^"]+)"', re.M)


def imported_words(path: Path, seen: set[Path] | None = None) -> set[str]:
    """The words of `path` and of every document it imports, however deep and wherever they
    lie (a label inlined from `../../tasks/x.wdl` reads that file's identifiers)."""
    seen = set() if seen is None else seen
    if path in seen or not path.is_file():
        return set()
    seen.add(path)
    text = path.read_text()
    found = words(text)
    for target in _IMPORT.findall(text):
        found |= imported_words((path.parent / target).resolve(), seen)
    return found


def main() -> None:
    files = sorted((ROOT / "sample_wdl").glob("*/*.wdl"))
    files += sorted((ROOT / "tests" / "fixtures").glob("*.wdl"))
    for folder in sys.argv[1:]:
        files += sorted(Path(folder).rglob("*.wdl"))
    with tempfile.TemporaryDirectory() as tmp:
        for shape, make in SHAPES.items():
            folder = Path(tmp) / shape.replace(" ", "_").replace(",", "")
            folder.mkdir()
            for name, text in make().items():
                (folder / name).write_text(text)
            files.append(folder / next(iter(make())))
        for mode in ("efs", "fsx"):
            names, bad = 0, []
            for path in files:
                count, found = problems(path, mode)
                names, bad = names + count, bad + found
            print(f"{mode}: {len(files)} files, {names} state names, {len(bad)} problems")
            for line in bad[:20]:
                print("  ", line)


if __name__ == "__main__":
    main()
