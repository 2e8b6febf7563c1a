#!/usr/bin/env python3
"""wdl2sfn's CDK app: ``cdk deploy -c variant=new-vpc|existing-vpc|fsx`` (see docs/deploy.md)."""

import os
import sys

# wdl2sfn_cdk comes from the installed distribution (or this folder, the script's own directory)
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from wdl2sfn_cdk.app import NagError, build_app, synth  # noqa: E402
from wdl2sfn_cdk.config import ConfigError  # noqa: E402
from wdl2sfn_cdk.state_machine import PlaceholderError  # noqa: E402

if __name__ == "__main__":
    try:
        app, _ = build_app()
        synth(app)
    except (ConfigError, PlaceholderError) as exc:
        sys.exit(f"wdl2sfn cdk app: {exc}")
    except NagError as exc:
        sys.exit(f"cdk-nag: unacknowledged findings:\n{exc}")
