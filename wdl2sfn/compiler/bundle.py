"""The workflow's source files, and the content digest that names them in the run store/bucket.

The compiled ASL refers to the workflow by digest, so the same JSON runs locally and on AWS:
`run` copies the bundle into the local store, `deploy` (or the CDK construct) uploads it to
`s3://<RunBucket>/_workflows/<digest>/`, and the init step fetches it into each run directory.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from WDL import Tree


@dataclass(frozen=True)
class Bundle:
    main: str  # path of the main WDL file, relative to the bundle root
    files: dict[str, str]  # relative path -> WDL source text
    digest: str


def bundle_of(doc: Tree.Document) -> Bundle:
    """Collect the main document and every import, relative to their common directory."""
    texts: dict[str, str] = {}
    _collect(doc, texts)
    root = os.path.commonpath([os.path.dirname(p) for p in texts])
    files = {os.path.relpath(p, root): t for p, t in sorted(texts.items())}
    main = os.path.relpath(doc.pos.abspath, root)
    h = hashlib.sha256()
    for rel, text in sorted(files.items()):
        h.update(rel.encode() + b"\0" + text.encode() + b"\0")
    h.update(main.encode())
    return Bundle(main=main, files=files, digest=h.hexdigest()[:32])


def _collect(doc: Tree.Document, texts: dict[str, str]) -> None:
    path = doc.pos.abspath
    if path in texts:
        return
    texts[path] = doc.source_text
    for imp in doc.imports:
        if imp.doc is not None:
            _collect(imp.doc, texts)
