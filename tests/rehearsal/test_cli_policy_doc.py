"""The CLI user policy documented in docs/aws-backend.md allows what `files` submits: the runner
job definition the stack names ``wdl2sfn-runner-<stack>`` (issue 20 item 16). Evaluated with the
rehearsal's IAM evaluator, as AWS would (a SubmitJob names the job definition with its revision).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from wdl2sfn.backends.rehearsal.iam import evaluate

DOC = Path(__file__).parents[2] / "docs" / "aws-backend.md"


def _cli_policy(stack: str) -> str:
    text = DOC.read_text().split("## IAM for the CLI user", 1)[1]
    block = re.search(r"```json\n(.*?)```", text, re.S)
    assert block is not None
    policy = block.group(1).replace("STACK", stack).replace("REGION", "us-east-1")
    json.loads(policy.replace("ACCOUNT", "123456789012"))
    return policy.replace("ACCOUNT", "123456789012")


def test_the_documented_cli_policy_allows_submitting_the_runner_job_definition() -> None:
    policy = _cli_policy("mystack")
    runner = "arn:aws:batch:us-east-1:123456789012:job-definition/wdl2sfn-runner-mystack:3"
    assert evaluate([policy], "batch:SubmitJob", runner)
    other = "arn:aws:batch:us-east-1:123456789012:job-definition/wdl2sfn-runner-otherstack:3"
    assert not evaluate([policy], "batch:SubmitJob", other)
