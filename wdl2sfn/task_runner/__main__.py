"""`python -m wdl2sfn.task_runner STEP ...`: a run-time step as a Batch job (runner image).

Used for the S3 upload job, and for every step with `--filesystem fsx` (Lambda cannot mount
FSx): the state machine passes the event as `--field KEY JSON` pairs and reads the result back
from `--result-key` (written to the run bucket, or under the store root when there is none).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .atomic import write_json_atomic
from .handlers import STEPS, Runtime, Settings


def parse_event(args: argparse.Namespace) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(args.event) if args.event else {}
    if args.run:
        event["run"] = args.run
    for key, value in args.field or []:
        event[key] = json.loads(value)
    return event


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wdl2sfn.task_runner")
    parser.add_argument("step", choices=STEPS)
    parser.add_argument("--event", help="the step's whole event as JSON")
    parser.add_argument("--run", help="the run name (shorthand for a field)")
    parser.add_argument(
        "--field", nargs=2, action="append", metavar=("KEY", "JSON"), help="one event field"
    )
    parser.add_argument(
        "--result-key", help="also write the result here (bucket key / store-relative path)"
    )
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    event = parse_event(args)
    try:
        result = Runtime(settings).dispatch(args.step, event)
    except Exception as exn:  # an exact join's wait job: its state must not wait forever
        from .joins import fail_wait

        fail_wait(settings, event, exn)
        raise
    if args.result_key:
        save_result(settings, args.result_key, result)
    json.dump(result, sys.stdout)
    print()
    return 0


def save_result(settings: Settings, key: str, result: dict[str, Any]) -> None:
    if settings.run_bucket and settings.s3 is not None:
        settings.s3.put_object(
            Bucket=settings.run_bucket, Key=key, Body=json.dumps(result).encode()
        )
        return
    path = settings.store.key_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, result)


if __name__ == "__main__":
    sys.exit(main())
