"""The one adapter between wdl2sfn and miniwdl.

Every use of miniwdl's private helpers (anything under ``WDL.runtime`` or a name starting with an
underscore) goes through this module, so a miniwdl upgrade touches one file. Public API
(``WDL.load``, ``WDL.Tree``, ``WDL.Value``, ``WDL.Env``, ``WDL.StdLib.Base``) may be used directly.
"""

from __future__ import annotations

import WDL

# ---------------------------------------------------------------- loading and the typed tree


def load(path: str) -> WDL.Tree.Document:
    """Load and type-check a WDL document with its imports (raises WDL.Error.* on bad WDL)."""
    return WDL.load(path, check_quant=True, read_source=WDL.read_source_default)


# ---------------------------------------------------------------- task-level run-time helpers
# (task_runner/task.py, task_runner/cache.py: append below)
