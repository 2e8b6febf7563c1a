"""`python -m wdl2sfn.task_runner STEP (--event JSON | --run RUN)`: a step as a Batch job.

Used by the runner job definition (the S3 upload job, and every step in --filesystem fsx mode).
"""

from __future__ import annotations

import argparse
import json
import sys

from .handlers import STEPS, Runtime, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wdl2sfn.task_runner")
    parser.add_argument("step", choices=STEPS)
    parser.add_argument("--event", help="the step's event as JSON")
    parser.add_argument("--run", help="shorthand for --event '{\"run\": RUN}'")
    args = parser.parse_args(argv)
    event = json.loads(args.event) if args.event else {"run": args.run}
    result = Runtime(Settings.from_env()).dispatch(args.step, event)
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
