"""AWS Lambda entry point: one image, one handler; WDL2SFN_STEP picks the step."""

from __future__ import annotations

import os
from typing import Any

from .handlers import Runtime, Settings

_runtime: Runtime | None = None


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    global _runtime
    if _runtime is None:
        _runtime = Runtime(Settings.from_env())
    step = os.environ.get("WDL2SFN_STEP") or str(event.get("step", ""))
    return _runtime.dispatch(step, event)
