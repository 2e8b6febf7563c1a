"""What `compile --report` tells: size, history headroom, payload bound, placeholders, cost.

Every figure is derived from the plan and the emitted definition, so a test can hold the compiler
to them (e.g. the 3,000-shard scatter's events against what the local executor counts).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..statemachine import asl
from . import events, ir
from .emit import MAX_BATCH_BYTES, batch_size
from .plan import iter_units

DEFINITION_LIMIT = 1_048_576
PAYLOAD_LIMIT = 262_144
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")

# public prices (us-east-1) used by the cost model; see docs/cost.md
PRICE_PER_TRANSITION = 0.025 / 1000
FARGATE_VCPU_HOUR = 0.04048
FARGATE_GB_HOUR = 0.004445
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_GB_SECOND = 0.0000166667
LAMBDA_GB = 0.5  # memory of the run-time step functions
LAMBDA_SECONDS = 0.5  # assumed mean duration of one run-time step


def placeholders_of(definition: dict[str, Any]) -> list[str]:
    return sorted(set(_PLACEHOLDER.findall(json.dumps(definition))))


def count_states(states: dict[str, Any]) -> int:
    total = 0
    for state in states.values():
        total += 1
        for branch in state.get("Branches", []):
            total += count_states(branch["States"])
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                total += count_states(state[key]["States"])
    return total


def scatter_figures(plan: ir.Plan) -> list[dict[str, Any]]:
    """Per scatter: shards per child execution and that child's worst-case history events."""
    out = []
    for unit in iter_units(plan.root):
        if isinstance(unit, ir.ScatterUnit):
            per_child = 1 if unit.has_inner_scatter else batch_size(unit.body)
            out.append(
                {
                    "scatter": unit.label,
                    "line": unit.line,
                    "shards_per_child_execution": per_child,
                    "child_execution_events": events.child_events(unit, per_child),
                    "transitions_per_shard": events.transitions(unit.body),
                }
            )
    return out


def report_of(plan: ir.Plan, definition: dict[str, Any]) -> dict[str, Any]:
    size = asl.definition_bytes(definition)
    calls = sum(1 for u in iter_units(plan.root) if isinstance(u, ir.CallUnit))
    root_events = events.root_events(plan)
    scatters = scatter_figures(plan)
    worst = max([root_events, *(s["child_execution_events"] for s in scatters)])
    return {
        "workflow": plan.name,
        "states": count_states(definition["States"]),
        "calls": calls,
        "definition_bytes": size,
        "definition_limit_bytes": DEFINITION_LIMIT,
        "history": {
            "limit": events.HISTORY_LIMIT,
            "root_execution_events": root_events,
            "worst_execution_events": worst,
            "scatters": scatters,
            "note": "events per execution do not grow with scatter width: shards run in "
            "Distributed Map child executions of bounded size",
        },
        "payload": {
            "limit_bytes": PAYLOAD_LIMIT,
            "max_batch_input_bytes": MAX_BATCH_BYTES,
            "note": "states carry run id, node, shard index and small scalars; WDL values stay in the run store",
        },
        "placeholders": placeholders_of(definition),
        "transitions": {"per_call": events.CALL_TRANSITIONS, "per_call_cache_hit": 3},
        "added_waits": [list(pair) for pair in plan.added_waits],
        "cost_model": cost_model(calls_total=1000, hours=10.0),
    }


def cost_model(
    *, calls_total: int, hours: float, transitions_per_call: int = events.CALL_TRANSITIONS
) -> dict[str, Any]:
    """Orchestration cost of a run: wdl2sfn (transitions + Lambda) vs a Fargate engine job."""
    transitions = calls_total * transitions_per_call + 10
    lambda_calls = calls_total * 2 + 3
    sfn = transitions * PRICE_PER_TRANSITION
    lam = lambda_calls * (LAMBDA_PER_REQUEST + LAMBDA_GB * LAMBDA_SECONDS * LAMBDA_GB_SECOND)
    engine = hours * (1 * FARGATE_VCPU_HOUR + 4 * FARGATE_GB_HOUR)
    ours = sfn + lam
    return {
        "calls": calls_total,
        "hours": hours,
        "state_transitions": transitions,
        "lambda_invocations": lambda_calls,
        "wdl2sfn_usd": round(ours, 4),
        "miniwdl_aws_engine_job_usd": round(engine, 4),
        "ratio": round(ours / engine, 3) if engine else None,
    }


def human_report(report: dict[str, Any]) -> str:
    """The --report text: one screen a platform engineer can check against AWS quotas."""
    h = report["history"]
    lines = [
        f"workflow {report['workflow']}: {report['calls']} calls, {report['states']} states",
        f"definition: {report['definition_bytes']:,} bytes of {report['definition_limit_bytes']:,} "
        f"({100 * report['definition_bytes'] / report['definition_limit_bytes']:.1f}%)",
        f"history events: top execution {h['root_execution_events']:,}, worst execution "
        f"{h['worst_execution_events']:,} of {h['limit']:,}",
    ]
    for s in h["scatters"]:
        lines.append(
            f"  {s['scatter']} (line {s['line']}): {s['shards_per_child_execution']} shards per child "
            f"execution, {s['child_execution_events']:,} events per child"
        )
    lines.append(
        f"payload: at most {report['payload']['max_batch_input_bytes']:,} bytes (batch input) of "
        f"{report['payload']['limit_bytes']:,}; no WDL value travels in a payload"
    )
    lines.append(f"transitions: {report['transitions']['per_call']} per call")
    c = report["cost_model"]
    lines.append(
        f"cost model ({c['calls']} calls, {c['hours']:g} h): wdl2sfn ${c['wdl2sfn_usd']:.3f} vs "
        f"engine job ${c['miniwdl_aws_engine_job_usd']:.3f} (ratio {c['ratio']})"
    )
    if report["added_waits"]:
        lines.append("added waits (not series-parallel):")
        lines.extend(f"  {a} waits for {b}" for b, a in report["added_waits"])
    lines.append("placeholders: " + " ".join(report["placeholders"]))
    return "\n".join(lines)
