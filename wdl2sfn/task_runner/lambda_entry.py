"""AWS Lambda entry point: one image, one handler; WDL2SFN_STEP picks the step."""

from __future__ import annotations

from typing import Any

from ..contract.settings import load_settings
from .handlers import Runtime, Settings

_runtime: Runtime | None = None


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    global _runtime
    if _runtime is None:
        _runtime = Runtime(Settings.from_env())
    step = load_settings().step or str(event.get("step", ""))
    return _runtime.dispatch(step, event)
