"""The adapter's cache of miniwdl's parser tables (part of the adapter: it reaches into
``WDL._parser``, miniwdl's private parser module)."""

from __future__ import annotations

import os
from typing import Any

from ..contract.settings import load_settings


def cache_parser_tables() -> None:
    """Have lark keep miniwdl's LALR tables in a private cache file between processes.

    miniwdl builds the tables of its grammar in every process, about 60% of compiling a small
    workflow (profiled on warp and gatk-workflows files); lark's own ``cache=`` option saves them,
    keyed by the grammar's hash and lark's version, and loads them next time (a bad or partial
    file is rebuilt). The folder is the user's own (0700): the cache is a pickle, never read from
    a shared /tmp. ``WDL2SFN_PARSER_CACHE``: another folder, or ``off``."""
    from WDL import _parser

    folder = load_settings().parser_cache or os.path.join(_user_cache(), "wdl2sfn", "parser")
    if getattr(_parser.parse, "wdl2sfn_cached", False) or folder == "off":
        return
    inner = _parser.parse

    def parse(grammar: str, txt: str, start: str) -> Any:
        key = (grammar, start)
        with _parser._lark_lock:
            if key not in _parser._lark_cache:
                _parser._lark_cache[key] = _cached_lark(grammar, start, _parser, folder)
        return inner(grammar, txt, start)

    parse.wdl2sfn_cached = True  # type: ignore[attr-defined]
    _parser.parse = parse


def _user_cache() -> str:
    return os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")


def _cached_lark(grammar: str, start: str, parser_module: Any, folder: str) -> Any:
    """The parser miniwdl builds (same options), with lark's table cache in ``folder``."""
    import hashlib

    import lark

    digest = hashlib.sha256(f"{start}\0{grammar}".encode()).hexdigest()[:20]
    path = os.path.join(folder, f"lark-{lark.__version__}-{digest}.pickle")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        path = ""  # no writable home: build the tables, as miniwdl does
    return lark.Lark(
        grammar,
        start=start,
        parser="lalr",
        maybe_placeholders=False,
        propagate_positions=True,
        lexer_callbacks={"COMMENT": parser_module._lark_comments_buffer.append},
        cache=path or False,
    )
