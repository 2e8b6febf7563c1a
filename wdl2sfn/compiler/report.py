"""What `compile --report` tells: size, history headroom, payload bound, placeholders, cost.

Every figure is derived from the plan and the emitted definition, so a test can hold the compiler
to them (e.g. the 3,000-shard scatter's events against what the local executor counts).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..contract import CALL_MACHINE, FINISH_MACHINE, START_MACHINE, ref
from . import asl, events, ir
from .plan import iter_lane_items, iter_units
from .run_cost import (
    DEFAULT_WIDTH,
    Prices,
    evaluate,
    run_terms,
    terms_from_json,
    terms_json,
    width_names,
)
from .stack_machines import stack_machines

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
EC2_VCPU_HOUR = 0.048  # m5 on-demand: $0.096 per hour for 2 vCPU (the FSx runner's EC2 fleet)
RUNNER_VCPU = 1  # a runner job's reservation
RUNNER_SECONDS = 20.0  # assumed container start + python + the step, per runner job
#: the call's Task, then its call machine's prepare (job, s3:getObject), cached?, run and
#: collect (job) (stack_machines.py)
FSX_CALL_TRANSITIONS = 6


#: report keys of the events of one execution of each stack machine (contract/calls.py)
_STACK_NAMES = {
    "start_execution_events": START_MACHINE,
    "call_execution_events": CALL_MACHINE,
    "finish_execution_events": FINISH_MACHINE,
}


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


def placed(label: str, where: str) -> str:
    """`label (file:line)`, unless the label already carries its place (two scatters that read
    alike are named with it), so the report never prints it twice."""
    return label if label.endswith(f"({where})") else f"{label} ({where})"


def scatter_figures(
    scatters: list[tuple[ir.ScatterUnit, dict[str, Any]]], machines: events.Machines
) -> list[dict[str, Any]]:
    """Per scatter, from its emitted Distributed Map: shards per child execution, that child's
    happy-path history events and the transitions each shard costs (those of the call machine
    executions it starts included: `machines`, by the StateMachineArn a Task names)."""
    return [
        {
            "scatter": unit.label,
            "line": unit.line,
            "where": f"{unit.file}:{unit.line}",
            "shards_per_child_execution": events.batch_of(state),
            "child_execution_events": events.child_events(state),
            "transitions_per_shard": round(events.transitions_per_shard(state, machines), 4),
        }
        for unit, state in scatters
    ]


def batch_input_bound(scatters: list[tuple[ir.ScatterUnit, dict[str, Any]]]) -> int:
    """Largest Distributed Map batch input: MaxItemsPerBatch items `{"shard":[i,...]}` (indices
    below 10^10) wrapped in `{"Items":[...]}`; one item per child when there is no batcher."""
    bound = 0
    for unit, state in scatters:
        depth = unit.depth
        item = len('{"shard":[]}') + depth * 11
        bound = max(bound, len('{"Items":[]}') + events.batch_of(state) * (item + 1))
    return bound


def report_of(
    plan: ir.Plan,
    definition: dict[str, Any],
    scatters: list[tuple[ir.ScatterUnit, dict[str, Any]]] | None = None,
    children: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """`children`: the reports of the child machines this one starts (by machine name)."""
    size = asl.definition_bytes(definition)
    calls = sum(1 for u in iter_units(plan.root) if isinstance(u, ir.CallUnit))
    root_events = events.execution_events(definition)
    # the stack's machines, by the StateMachineArn a Task names (`${CallMachineArn}`...)
    stack = {ref(p): m for p, m in stack_machines(plan.options.filesystem).items()}
    figures = scatter_figures(scatters or [], stack)
    # every execution a run starts: this machine's, its scatters' Distributed Map children, one
    # call machine execution per call instance, the finish machine's and the executions of the
    # child machines it starts (each its own history, and limit)
    nested = [c["history"]["worst_execution_events"] for c in (children or {}).values()]
    own = {name: events.execution_events(stack[ref(p)]) for name, p in _STACK_NAMES.items()}
    worst = max([root_events, *(s["child_execution_events"] for s in figures), *nested])
    worst = max(worst, *own.values())
    fsx = plan.options.filesystem == "fsx"
    return {
        "workflow": plan.name,
        "states": count_states(definition["States"]),
        "calls": calls,
        "definition_bytes": size,
        "deployed_bytes_bound": asl.deployed_bytes_bound(definition),
        "definition_limit_bytes": DEFINITION_LIMIT,
        "filesystem": plan.options.filesystem,
        "history": {
            "limit": plan.options.history_limit,
            "child_budget": events.budget(plan.options.history_limit),
            "root_execution_events": root_events,
            "worst_execution_events": worst,
            **own,
            "scatters": figures,
            "note": "counted from the emitted states (happy path, longest branch); shards run "
            "in Distributed Map child executions sized to the child budget, fixed events included",
        },
        "payload": payload_figures(plan, scatters or []),
        "placeholders": placeholders_of(definition),
        "transitions": {
            "per_call": FSX_CALL_TRANSITIONS if fsx else events.CALL_TRANSITIONS,
            "per_call_cache_hit": 5 if fsx else 4,
        },
        "added_waits": [list(pair) for pair in plan.added_waits],
        "concurrency": {
            "ceiling": plan.options.concurrency_ceiling,
            "capped": plan.concurrency_caps,
            "shared": plan.concurrency_shares,
        },
        "joins": join_figures(plan.root, fsx),
        "run_cost": run_cost_of(definition, scatters or [], children or {}, stack),
        "all_in": all_in(size, calls, children or {}, _part_machines(plan)),
    }


def all_in(
    size: int, calls: int, children: dict[str, dict[str, Any]], parts: set[str]
) -> dict[str, Any]:
    """Definition bytes per call counting every machine this one deploys, each once (a
    subworkflow machine two callers start is deployed once): what a workflow costs in definition
    per call, its fixed states (init, outputs, scatters, ifs, joins, failure steps) shared out
    over its calls. `machines`: each child machine's own (bytes, calls); a part's calls are
    this machine's already (`calls` counts through its parts), a subworkflow machine's are not."""
    machines: dict[str, list[int]] = {}
    for name, child in children.items():
        machines.update(child["all_in"]["machines"])
        machines[name] = [child["definition_bytes"], 0 if name in parts else child["calls"]]
    total = size + sum(b for b, _ in machines.values())
    count = calls + sum(c for _, c in machines.values())
    return {
        "definition_bytes": total,
        "calls": count,
        "bytes_per_call": round(total / count) if count else None,
        "machines": machines,
    }


def _part_machines(plan: ir.Plan) -> set[str]:
    return {u.machine for u in iter_units(plan.root) if isinstance(u, ir.PartUnit)}


def join_figures(root: ir.Step, fsx: bool = False) -> dict[str, Any]:
    """Each exact join (a wait step) and release, and what they cost per instance (shard) of
    the region: one transition and one run-time step each, an Eval Lambda invocation (EFS) or a
    runner Batch job (FSx: the wait is `aws-sdk:batch:submitJob.waitForTaskToken`); a call's
    release is done by its own collect (or prepare) and costs nothing more."""
    labels = {u.key: u.label for u in iter_units(root)}
    step = join_step_cost(fsx)
    free = {"transitions": 0, "lambda_calls": 0, "runner_jobs": 0, "usd": 0.0}
    waits, releases = [], []
    for item in iter_lane_items(root):
        if item.wait_for:
            waits.append({"unit": item.unit.label, **step,
                          "waits_for": [labels.get(r, r) for r in item.wait_for]})  # fmt: skip
        if item.waiters:
            by_call = isinstance(item.unit, ir.CallUnit)
            releases.append({"unit": item.unit.label, **(free if by_call else step),
                             "by": "the call's collect" if by_call else "a release step",
                             "releases": [labels.get(r, r) for r in item.waiters]})  # fmt: skip
    n = len(waits) + sum(1 for r in releases if r["transitions"])
    return {
        "waits": waits,
        "releases": releases,
        "steps_run_as": "runner Batch jobs" if fsx else "Eval Lambda invocations",
        "transitions": n,
        "lambda_calls": 0 if fsx else n,
        "runner_jobs": n if fsx else 0,
        "usd": round(n * step["usd"], 8),
        "note": "per instance of the region (once per shard inside a scatter)",
    }


def join_step_cost(fsx: bool) -> dict[str, Any]:
    """One wait or release step: a transition, and a Lambda invocation or a runner job."""
    if fsx:
        step_usd = RUNNER_VCPU * RUNNER_SECONDS / 3600 * EC2_VCPU_HOUR
        counts = {"lambda_calls": 0, "runner_jobs": 1}
    else:
        step_usd = LAMBDA_PER_REQUEST + LAMBDA_GB * LAMBDA_SECONDS * LAMBDA_GB_SECOND
        counts = {"lambda_calls": 1, "runner_jobs": 0}
    return {"transitions": 1, **counts, "usd": round(PRICE_PER_TRANSITION + step_usd, 8)}


def payload_figures(
    plan: ir.Plan, scatters: list[tuple[ir.ScatterUnit, dict[str, Any]]]
) -> dict[str, Any]:
    batch = batch_input_bound(scatters)
    return {
        "limit_bytes": PAYLOAD_LIMIT,
        "max_batch_input_bytes": batch,
        "note": "batch inputs computed from MaxItemsPerBatch and the scatter nesting depth; "
        "other states carry run id, node, shard index and small scalars; WDL values stay in "
        "the run store",
    }


ASSUMPTIONS = (
    "happy path (no retry or failure), every if taken, no call cached, no --s3upload",
    "run-time steps as Lambda at 0.5 GB for 0.5 s each, or (FSx) runner jobs of 1 vCPU for 20 s",
    "us-east-1 list prices; free tiers ignored",
    "not priced: the tasks' own Batch compute (the same with any engine), S3 requests, "
    "CloudWatch Logs",
)


def step_prices() -> Prices:
    """What one transition, Lambda step and runner-job step cost (docs/cost.md)."""
    return Prices(
        transition=PRICE_PER_TRANSITION,
        lambda_call=LAMBDA_PER_REQUEST + LAMBDA_GB * LAMBDA_SECONDS * LAMBDA_GB_SECOND,
        runner_job=RUNNER_VCPU * RUNNER_SECONDS / 3600 * EC2_VCPU_HOUR,
    )


def engine_job_per_hour() -> float:
    """A miniwdl-aws engine job: Fargate, 1 vCPU and 4 GiB, for the whole run."""
    return 1 * FARGATE_VCPU_HOUR + 4 * FARGATE_GB_HOUR


def run_cost_of(
    definition: dict[str, Any],
    scatters: list[tuple[ir.ScatterUnit, dict[str, Any]]],
    children: dict[str, dict[str, Any]],
    stack: events.Machines | None = None,
) -> dict[str, Any]:
    """One run of this machine, priced: terms per product of scatter widths, and their sum at
    DEFAULT_WIDTH (`at_widths`, recomputed by `with_widths` for widths a user gives). An
    execution of a stack machine (`stack`, by the StateMachineArn a Task names: init, a call,
    the run's end) counts as a child machine's."""
    prices = step_prices()
    child_costs = {name: r["run_cost"] for name, r in children.items()}
    child_terms = {name: terms_from_json(c["terms"]) for name, c in child_costs.items()}
    for arn, machine in (stack or {}).items():
        child_terms[arn] = run_terms(machine, [], {}, prices)
    terms = run_terms(definition, scatters, child_terms, prices)
    named = width_names(scatters)
    widths = [
        {"name": named[id(state)], "scatter": unit.label, "where": f"{unit.file}:{unit.line}"}
        for unit, state in sorted(scatters, key=lambda us: (us[0].file, us[0].line))
    ]
    for cost in child_costs.values():
        widths += [w for w in cost["widths"] if w not in widths]
    cost = {
        "widths": widths,
        "terms": terms_json(terms, prices),
        "default_width": DEFAULT_WIDTH,
        "engine_job_usd_per_hour": round(engine_job_per_hour(), 5),
        "assumptions": list(ASSUMPTIONS),
    }
    return with_widths(cost, {})


def with_widths(cost: dict[str, Any], given: dict[str, int]) -> dict[str, Any]:
    """`cost` evaluated at the widths `given` (by name or scatter variable; others at the
    default width): counts, dollars, and the engine-job time that costs as much."""
    prices = step_prices()
    counts = evaluate(terms_from_json(cost["terms"]), given, cost["default_width"])
    usd = prices.usd(counts)
    at = {name: _width_of(name, given, cost["default_width"]) for name in _names(cost)}
    return {
        **cost,
        "at_widths": at,
        "transitions": round(counts.transitions),
        "lambda_calls": round(counts.lambda_calls),
        "runner_jobs": round(counts.runner_jobs),
        "task_jobs": round(counts.task_jobs),
        "usd": round(usd, 6),
        "engine_job_minutes_same_usd": round(usd / engine_job_per_hour() * 60, 2),
    }


def _names(cost: dict[str, Any]) -> list[str]:
    return [w["name"] for w in cost["widths"]]


def _width_of(name: str, given: dict[str, int], default: int) -> int:
    return given.get(name, given.get(name.split("@")[0], default))


def cost_model(
    *,
    calls_total: int,
    hours: float,
    transitions_per_call: int | None = None,
    fsx: bool = False,
) -> dict[str, Any]:
    """Orchestration cost of a run: wdl2sfn (transitions + run-time steps) vs a Fargate engine
    job. With FSx the steps are runner Batch jobs (Lambda cannot mount FSx), priced as EC2
    vCPU time, and each step that returns a result takes two more states (s3:getObject, Pass)."""
    per_call = transitions_per_call or (FSX_CALL_TRANSITIONS if fsx else events.CALL_TRANSITIONS)
    transitions = calls_total * per_call + 10
    steps = calls_total * 2 + 3
    sfn = transitions * PRICE_PER_TRANSITION
    if fsx:
        per_step = RUNNER_VCPU * RUNNER_SECONDS / 3600 * EC2_VCPU_HOUR
    else:
        per_step = LAMBDA_PER_REQUEST + LAMBDA_GB * LAMBDA_SECONDS * LAMBDA_GB_SECOND
    engine = hours * (1 * FARGATE_VCPU_HOUR + 4 * FARGATE_GB_HOUR)
    ours = sfn + steps * per_step
    return {
        "calls": calls_total,
        "hours": hours,
        "state_transitions": transitions,
        "step_runs": steps,
        "steps_run_as": "runner Batch jobs (EC2)" if fsx else "Lambda invocations",
        "wdl2sfn_usd": round(ours, 4),
        "miniwdl_aws_engine_job_usd": round(engine, 4),
        "ratio": round(ours / engine, 3) if engine else None,
    }


def _all_in_line(figures: dict[str, Any]) -> str:
    per_call = figures["bytes_per_call"]
    shown = f"{per_call:,}" if per_call is not None else "- (no calls)"
    return (
        f"bytes per call, all in: {shown} ({figures['definition_bytes']:,} bytes of every "
        f"machine deployed over {figures['calls']} calls)"
    )


def human_report(report: dict[str, Any]) -> str:
    """The --report text: one screen a platform engineer can check against AWS quotas."""
    h = report["history"]
    lines = [
        f"workflow {report['workflow']}: {report['calls']} calls, {report['states']} states",
        f"definition: {report['definition_bytes']:,} bytes as compiled, at most "
        f"{report['deployed_bytes_bound']:,} once deployed (ARNs for placeholders), of "
        f"{report['definition_limit_bytes']:,} "
        f"({100 * report['deployed_bytes_bound'] / report['definition_limit_bytes']:.1f}%)",
        _all_in_line(report["all_in"]),
        f"history events: top execution {h['root_execution_events']:,}, each call's execution "
        f"{h['call_execution_events']:,}, worst execution {h['worst_execution_events']:,} of "
        f"{h['limit']:,}",
    ]
    for s in h["scatters"]:
        lines.append(
            f"  {placed(s['scatter'], s['where'])}: {s['shards_per_child_execution']} shards per child "
            f"execution, {s['child_execution_events']:,} events per child "
            f"(budget {h['child_budget']:,})"
        )
    batch = report["payload"]["max_batch_input_bytes"]
    lines.append(
        (f"payload: at most {batch:,} bytes (batch input) of " if batch else "payload: limit ")
        + f"{report['payload']['limit_bytes']:,}; no WDL value travels in a payload"
    )
    lines.append(f"transitions: {report['transitions']['per_call']} per call")
    lines.extend(concurrency_lines(report["concurrency"]))
    lines.extend(run_cost_lines(report["run_cost"]))
    j = report["joins"]
    if j["waits"]:
        lines.append(
            f"exact joins (not series-parallel): {len(j['waits'])} waits, "
            f"{len(j['releases'])} releases, {j['transitions']} transitions and "
            f"{j['transitions']} {j['steps_run_as']} (${j['usd']:.6f}) per region instance"
        )
        lines.extend(f"  {w['unit']} waits for {', '.join(w['waits_for'])}" for w in j["waits"])
    if report["added_waits"]:
        lines.append("added waits (not series-parallel):")
        lines.extend(f"  {a} waits for {b}" for b, a in report["added_waits"])
    lines.append("placeholders: " + " ".join(report["placeholders"]))
    return "\n".join(lines)


def concurrency_lines(concurrency: dict[str, Any]) -> list[str]:
    """Pieces of split scatters sharing their cap, and nested scatters whose MaxConcurrency the
    ceiling lowered (none: no line)."""
    lines: list[str] = []
    if concurrency.get("shared"):
        lines.append(
            "concurrency: pieces of a split scatter that run at once share its cap "
            "(--max-concurrency, else the default)"
        )
        lines.extend(_shared_lines(concurrency["shared"]))
    if not concurrency["capped"]:
        return lines
    lines.append(
        f"concurrency: nested scatters capped to {concurrency['ceiling']:,} shards in flight "
        "(--concurrency-ceiling; each shard invokes Lambda and submits a Batch job)"
    )
    lines.extend(
        f"  {placed(c['scatter'], c['where'])}: {c['max_concurrency']} at once per copy "
        f"(was {c['without_ceiling']})"
        for c in concurrency["capped"]
    )
    return lines


def _shared_lines(shared: list[dict[str, Any]]) -> list[str]:
    """A line per piece sharing its scatter's cap; pieces of one scatter with the same share
    on one line (a scatter of 300 independent calls is 300 pieces)."""
    groups: dict[tuple[str, int, int, int], list[str]] = {}
    for c in shared:
        key = (c["where"], c["max_concurrency"], c["at_once"], c["without_sharing"])
        groups.setdefault(key, []).append(c["scatter"])
    lines = []
    for (where, share, k, was), labels in groups.items():
        more = f" and {len(labels) - 1} more pieces" if len(labels) > 2 else ""
        names = labels[0] + more if more else " and ".join(labels)
        lines.append(
            f"  {placed(names, where)}: {share} at once per copy, "
            f"{k} pieces side by side (was {was})"
        )
    return lines


def run_cost_lines(cost: dict[str, Any]) -> list[str]:
    """The cost of one run: its formula in the scatter widths, its value at the widths assumed
    (or given), what an engine job buys for the same money, and the assumptions."""
    formula = " + ".join(
        _usd(t["usd"]) + "".join(f" × {w}" for w in t["per"]) for t in cost["terms"]
    )
    at = cost["at_widths"]
    where = ", ".join(f"{w}={n}" for w, n in at.items())
    steps = ("runner job", cost["runner_jobs"]) if cost["runner_jobs"] else (
        "Lambda call", cost["lambda_calls"])  # fmt: skip
    counts = ", ".join(
        _plural(n, what)
        for what, n in (("transition", cost["transitions"]), steps, ("task job", cost["task_jobs"]))
    )
    lines = [
        f"cost per run (orchestration): {formula}",
        f"  {'at ' + where + ': ' if where else ''}{_usd(cost['usd'])} ({counts}); a miniwdl-aws "
        f"engine job costs as much in {_duration(cost['engine_job_minutes_same_usd'])} "
        f"(${cost['engine_job_usd_per_hour']}/h)",
    ]
    lines += [
        f"  {w['name']} = width of {placed(w['scatter'], w['where'])}, "
        f"{'given' if at[w['name']] != cost['default_width'] else 'assumed'} "
        f"{at[w['name']]}: --scatter-width {w['name']}=N"
        for w in cost["widths"]
    ]
    lines.append("  assumes: " + "; ".join(cost["assumptions"]) + " (docs/cost.md)")
    return lines


def _plural(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


def _duration(minutes: float) -> str:
    return f"{minutes:.3g} min" if minutes < 90 else f"{minutes / 60:.3g} h"


def _usd(value: float) -> str:
    """Dollars to 3 significant digits, never in exponent notation ($0.000109)."""
    if value <= 0:
        return "$0"
    decimals = max(2, 2 - math.floor(math.log10(value)))
    return f"${value:.{decimals}f}"
