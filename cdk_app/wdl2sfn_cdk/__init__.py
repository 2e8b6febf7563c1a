"""wdl2sfn's AWS infrastructure as a CDK app.

- ``config``: the app's context keys, parsed and validated (no AWS lookups).
- ``stack.Wdl2SfnStack``: the shared infrastructure, composed of one part per concern:
  ``network`` (VPC, subnets, security groups, endpoints), ``storage`` (run bucket, access logs,
  lifecycle; EFS or FSx), ``access`` (the jobs' roles and the grants), ``compute`` (Batch launch
  templates, compute environments, queues, runner job definition), ``functions`` (the run-time
  steps as Lambda functions), ``exports`` (outputs and the role of deployed machines);
  ``runtime`` (runner image, step environment) and ``nag`` (acknowledgments) serve them.
- ``state_machine.WdlStateMachine``: one compiled WDL workflow as a Step Functions state machine.
- ``app.build_app``: the whole app with cdk-nag, used by ``cdk_app/app.py`` and the tests.
"""

from wdl2sfn.contract import PLACEHOLDERS

from .config import Config, ConfigError, load_config

__all__ = ["PLACEHOLDERS", "Config", "ConfigError", "load_config"]
