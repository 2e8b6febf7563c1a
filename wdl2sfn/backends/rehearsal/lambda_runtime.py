"""A warm Lambda execution environment: the function's handler behind a line protocol.

The rehearsal starts one of these per concurrent invocation of a function (in the function's
sandbox) and keeps it, as Lambda keeps execution environments warm. Each stdin line is an event
(JSON); each answer is one line on the original stdout: ``{"result": ...}`` or ``{"error":
{"errorMessage", "errorType", "stackTrace"}}`` as the Python runtime reports an unhandled
exception. The handler's own prints go to stderr (the function's log), never into the protocol.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from typing import Any


def _handler(spec: str) -> Any:
    module, _, name = spec.rpartition(".")
    return getattr(importlib.import_module(module), name)


def main() -> int:
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    handler = _handler(os.environ.get("_HANDLER", "wdl2sfn.task_runner.lambda_entry.handler"))
    for line in sys.stdin:
        event = json.loads(line)
        try:
            answer: dict[str, Any] = {"result": handler(event, None)}
        except Exception as exc:  # reported to the caller as Lambda reports it
            answer = {
                "error": {
                    "errorMessage": str(exc),
                    "errorType": type(exc).__name__,
                    "stackTrace": traceback.format_tb(exc.__traceback__),
                }
            }
            traceback.print_exc()
        try:
            text = json.dumps(answer)
        except (TypeError, ValueError) as exc:
            text = json.dumps({"error": {"errorMessage": f"Unable to marshal response: {exc}",
                                         "errorType": "Runtime.MarshalError", "stackTrace": []}})  # fmt: skip
        channel.write(text + "\n")
        channel.flush()
        sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
