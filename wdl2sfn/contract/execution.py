"""The execution input (DESIGN "Execution input"): the one builder every backend uses.

``{"inputs": {...}, "run": {"name", "s3upload", "delete_after", "no_cache", "tags"}}`` (plus
``env`` and ``runtime_defaults`` when given). Inputs whose JSON is over ``INLINE_INPUTS_MAX``
bytes go to the run store instead (S3 on AWS; DESIGN invariant 1) and the execution input
carries their key: ``{"inputs_ref": KEY, "run": {...}}``. Step Functions refuses an execution
input over 256 KiB ("The maximum input or output size for a task, state, or execution is
256 KiB of data as a UTF-8 encoded string", AWS Step Functions quotas), and a sample sheet of
9,000 FASTQ paths is already 306 KB. The init step reads the same shape on AWS and
locally, so it is built in one place, with one tag check and one ``--s3upload`` shape check:
two builders had drifted apart (one accepted ``--tag =x``, one never looked at ``--s3upload``).
This module imports nothing of ours.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlparse

INPUTS_REF = "inputs_ref"
"""The execution input's field holding the store key of inputs too large to carry inline."""

INLINE_INPUTS_MAX = 64 * 1024
"""Inputs up to this many bytes of JSON ride in the execution input (readable in the history);
larger ones by reference, well under the 256 KiB quota with the run options beside them."""


class ExecutionInputError(ValueError):
    """A run option that cannot go into the execution input; the message names the option."""


def parse_tags(tags: Iterable[str]) -> dict[str, str]:
    """``--tag KEY=VALUE`` (repeatable) -> ``{KEY: VALUE}``; a missing ``=`` or empty KEY is
    refused, naming the tag."""
    out: dict[str, str] = {}
    for tag in tags:
        key, eq, value = tag.partition("=")
        if not eq or not key:
            raise ExecutionInputError(f"--tag {tag!r}: expected KEY=VALUE")
        out[key] = value
    return out


def check_s3upload_uri(uri: str | None) -> None:
    """``--s3upload`` must be ``s3://bucket[/prefix]`` (whether the bucket answers is the
    backend's question)."""
    if not uri:
        return
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ExecutionInputError(f"--s3upload wants s3://bucket/prefix, not {uri!r}")


def execution_input(
    inputs: dict[str, Any],
    name: str,
    *,
    s3upload: str | None = None,
    delete_after: str | None = None,
    no_cache: bool = False,
    tags: Iterable[str] = (),
    env: dict[str, str] | None = None,
    runtime_defaults: dict[str, Any] | None = None,
    store_inputs: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """The execution input of one run named ``name``; raises ExecutionInputError on a bad tag
    or ``--s3upload``. ``store_inputs(json_text) -> key`` puts large inputs in the run store
    (without it they stay inline: the usage checks build a throwaway input)."""
    check_s3upload_uri(s3upload)
    run: dict[str, Any] = {
        "name": name,
        "s3upload": s3upload,
        "delete_after": delete_after,
        "no_cache": bool(no_cache),
        "tags": parse_tags(tags),
    }
    if env:
        run["env"] = env
    if runtime_defaults:
        run["runtime_defaults"] = runtime_defaults
    if store_inputs is not None:
        text = json.dumps(inputs)
        if len(text.encode()) > INLINE_INPUTS_MAX:
            return {INPUTS_REF: store_inputs(text), "run": run}
    return {"inputs": inputs, "run": run}
