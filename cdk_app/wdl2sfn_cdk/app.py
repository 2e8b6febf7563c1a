"""Build the wdl2sfn CDK app (used by ``cdk_app/app.py`` and in-process by the tests)."""

from __future__ import annotations

import json
import os
from typing import Any

import aws_cdk as cdk
from aws_cdk import CfnOutput, Validations
from cdk_nag import AwsSolutionsChecks

from .config import Config, load_config
from .sizing import compiled_concurrency
from .stack import Wdl2SfnStack
from .state_machine import WdlStateMachine, _alnum

REPORT = "validation-report.json"
CDK_JSON = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cdk.json")


class NagError(RuntimeError):
    """cdk-nag reported findings that no acknowledgment covers."""


def build_app(
    context: dict[str, Any] | None = None, outdir: str | None = None
) -> tuple[cdk.App, Wdl2SfnStack]:
    """The app with one :class:`Wdl2SfnStack`, the configured workflows and cdk-nag on.

    Without arguments the app reads ``CDK_CONTEXT_JSON`` and ``CDK_OUTDIR`` as the CDK CLI
    sets them; ``context`` adds to (and overrides) that context.
    """
    kwargs: dict[str, Any] = {}
    if context is not None:
        # In-process (tests): start from cdk.json's context, as the CDK CLI would pass it.
        with open(CDK_JSON) as f:
            kwargs["context"] = {**json.load(f).get("context", {}), **context}
    if outdir is not None:
        kwargs["outdir"] = outdir
    app = cdk.App(**kwargs)
    config = load_config(_context(app, context))
    stack = build_stack(app, config)
    # cdk-nag 3: a CDK policy-validation plugin, run on every synth.
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def build_stack(app: cdk.App, config: Config) -> Wdl2SfnStack:
    stack = Wdl2SfnStack(
        app,
        config.stack_name,
        config=config,
        description=f"wdl2sfn: Step Functions + AWS Batch for WDL workflows ({config.variant})",
    )
    widths = []
    for path in config.workflows:
        base = os.path.splitext(os.path.basename(path))[0]
        wf = WdlStateMachine(
            stack, f"Workflow{_alnum(base)}", wdl_path=path, infra=stack, schedule=config.schedule
        )
        widths.append(compiled_concurrency(wf.compiled))
        CfnOutput(
            stack,
            f"StateMachineArn{_alnum(wf.workflow_name)}",
            value=wf.state_machine.state_machine_arn,
            description=f"state machine of workflow {wf.workflow_name}",
        )
    stack.runner_max_vcpus = stack.compute.size_runner(widths)
    stack.acknowledge_cdk_singletons()
    return stack


def _context(app: cdk.App, explicit: dict[str, Any] | None) -> dict[str, Any]:
    keys = [
        "variant", "stack_name", "owner", "bucket_name", "vpc_id", "subnet_ids",
        "availability_zones", "route_table_ids", "security_group_id", "max_vcpus", "spot_max_vcpus",
        "gpu_max_vcpus", "runner_max_vcpus", "fsx_deployment_type", "fsx_storage_gib",
        "scratch_days", "workflows", "schedule_expression", "schedule_inputs",
        "schedule_timezone", "endpoints", "read_buckets", "write_buckets",
        "kms_key_arns", "default_image", "ecr_pull_through", "ecr_pull_through_credential_arn",
    ]  # fmt: skip
    ctx = {k: app.node.try_get_context(k) for k in keys}
    ctx.update(explicit or {})
    return {k: v for k, v in ctx.items() if v is not None}


def synth(app: cdk.App) -> cdk.cx_api.CloudAssembly:
    """Synthesize; raise :class:`NagError` listing every unacknowledged cdk-nag finding."""
    try:
        assembly = app.synth()
    except RuntimeError as exc:
        if "ValidationFailed" not in str(exc) and "Validation failed" not in str(exc):
            raise
        raise NagError(_report_text(app.outdir) or str(exc)) from exc
    text = _report_text(app.outdir)
    if text:  # warnings do not fail CDK's validation; they must be acknowledged too
        raise NagError(text)
    return assembly


def findings(outdir: str) -> list[tuple[str, str, str]]:
    """(rule, severity, construct path) for every finding in the validation report."""
    path = os.path.join(outdir, REPORT)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        report = json.load(f)
    out = []
    for plugin in report.get("pluginReports", []):
        for v in plugin.get("violations", []):
            for c in v.get("violatingConstructs", []):
                out.append((v["ruleName"], v.get("severity", ""), c.get("constructPath", "")))
    return out


def _report_text(outdir: str) -> str:
    return "\n".join(f"{sev.upper()} {rule} at {path}" for rule, sev, path in findings(outdir))
