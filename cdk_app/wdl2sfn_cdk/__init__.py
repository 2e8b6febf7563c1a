"""wdl2sfn's AWS infrastructure as a CDK app.

- ``config``: the app's context keys, parsed and validated (no AWS lookups).
- ``stack.Wdl2SfnStack``: network, storage, bucket, Batch queues, run-time functions.
- ``state_machine.WdlStateMachine``: one compiled WDL workflow as a Step Functions state machine.
- ``app.build_app``: the whole app with cdk-nag, used by ``cdk_app/app.py`` and the tests.
"""

from .config import PLACEHOLDERS, Config, ConfigError, load_config

__all__ = ["PLACEHOLDERS", "Config", "ConfigError", "load_config"]
