"""The runner job definition's old revisions stay ACTIVE across `cdk deploy` (issue 20 item 6).

Deployed machines, retained versions (``wdl2sfn deploy --rollback``) and running executions name
the runner by its ARN with revision (``${RunnerJobDefinitionArn}``). CloudFormation template
reference, AWS::Batch::JobDefinition ResourceRetentionPolicy
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-batch-jobdefinition-resourceretentionpolicy.html):
"When the property is set to false, the previous revision of the job definition is
de-registered after a new revision is created. When the property is set to true, the previous
revision of the job definition is not de-registered."
"""

from __future__ import annotations

from .conftest import Synth


def test_the_runner_job_definition_keeps_its_previous_revisions(any_variant: Synth) -> None:
    (runner,) = [
        d
        for k, d in any_variant.resources("AWS::Batch::JobDefinition").items()
        if k.startswith("RunnerJobDefinition")
    ]
    policy = runner["Properties"]["ResourceRetentionPolicy"]
    assert policy == {"SkipDeregisterOnUpdate": True}
