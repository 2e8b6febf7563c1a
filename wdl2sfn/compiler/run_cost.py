"""What one run of this workflow costs to orchestrate, as a function of its scatter widths.

`compile --report` used to price a fixed "1,000 calls, 10 hours" whatever the workflow; a user
wants the price of *their* run. A run's transitions, Lambda invocations and runner jobs are a sum
of terms, each a count times the product of the widths of the scatters around it
(`10 + 4 × n + 4 × n × m`), read off the emitted states like `events`, so what is priced is what
runs. Widths are only known at run time: they are the parameters of the price, evaluated at an
assumed width unless the user gives them (`compile --report --scatter-width n=1000`).

Assumptions (also in the report): the happy path (no retry, no failure), every `if` taken, no call
cached, no `--s3upload`; Lambda and runner-job prices as in `report.py`. Task compute is not priced: it is the same Batch work with any engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from ..contract import RUNNER_JOB_DEFINITION, ref
from . import asl, events, ir

DEFAULT_WIDTH = 100
_CHILD_MACHINE = re.compile(r"\$\{StateMachineArn_([A-Za-z0-9_-]+)\}")

Key = tuple[str, ...]  # the scatter widths (parameter names) a term is multiplied by


@dataclass(frozen=True)
class Counts:
    """Billed or counted things of one run (fractions: a batch Map's state, shared by its shards)."""

    transitions: float = 0.0
    lambda_calls: float = 0.0
    runner_jobs: float = 0.0  # FSx: run-time steps as Batch jobs on the runner queue
    task_jobs: float = 0.0  # the calls' own Batch jobs (compute not priced)

    def __add__(self, other: Counts) -> Counts:
        # field by field, not through dataclasses.fields(): this runs once per state and term
        # (compile_document on a 500-call workflow: 0.22 s -> 0.19 s CPU with _clean_name)
        return Counts(
            self.transitions + other.transitions,
            self.lambda_calls + other.lambda_calls,
            self.runner_jobs + other.runner_jobs,
            self.task_jobs + other.task_jobs,
        )

    def times(self, k: float) -> Counts:
        return Counts(
            self.transitions * k, self.lambda_calls * k, self.runner_jobs * k, self.task_jobs * k
        )


Terms = dict[Key, Counts]


def add_terms(*parts: Terms) -> Terms:
    out: Terms = {}
    for part in parts:
        for key, counts in part.items():
            out[key] = out.get(key, Counts()) + counts
    return out


def times_width(terms: Terms, width: str) -> Terms:
    """`terms` inside a scatter: each one multiplied by that scatter's width."""
    return {(width, *key): c for key, c in terms.items()}


@dataclass(frozen=True)
class Prices:
    transition: float
    lambda_call: float
    runner_job: float

    def usd(self, c: Counts) -> float:
        return (
            c.transitions * self.transition
            + c.lambda_calls * self.lambda_call
            + c.runner_jobs * self.runner_job
        )


def width_names(scatters: list[tuple[ir.ScatterUnit, dict[str, Any]]]) -> dict[int, str]:
    """A parameter name per Distributed Map state: the scatter's variable, with its file:line
    when two scatters share a variable."""
    variables = [_variable(unit) for unit, _ in scatters]
    names: dict[int, str] = {}
    for (unit, state), var in zip(scatters, variables, strict=True):
        clash = variables.count(var) > 1
        names[id(state)] = f"{var}@{unit.file}:{unit.line}" if clash else var
    return names


def _variable(unit: ir.ScatterUnit) -> str:
    """`scatter sample in samples` -> `sample`."""
    words = unit.label.split()
    return words[1] if len(words) > 1 else unit.label


class Walker:
    """Terms of one execution of a machine, children included (by their own terms)."""

    def __init__(self, widths: dict[int, str], children: dict[str, Terms], rank: Prices) -> None:
        self.widths = widths
        self.children = children
        self.rank = rank  # picks the costlier branch at a Choice (at DEFAULT_WIDTH)

    def graph(self, graph: dict[str, Any], batch: int = 1) -> Terms:
        """The costliest happy path from StartAt (Next, Choice rules, Default; never Catch)."""
        states = graph["States"]
        best: dict[str, Terms] = {}
        stack: list[tuple[str, bool]] = [(graph["StartAt"], False)]
        while stack:
            name, expanded = stack.pop()
            if name in best:
                continue
            nexts = [n for n in events.successors(states[name]) if n in states]
            nexts = [n for n in nexts if not _is_upload(states[n])] or nexts
            if not expanded:
                stack.append((name, True))
                stack.extend((n, False) for n in nexts if n not in best)
                continue
            tails = [best[n] for n in nexts]
            tail = tails[0] if len(tails) == 1 else max(tails, key=self._ranked, default={})
            best[name] = add_terms(self.state(states[name], batch), tail)
        return best[graph["StartAt"]]

    def _ranked(self, terms: Terms) -> float:
        return self.rank.usd(evaluate(terms, {}, DEFAULT_WIDTH))

    def state(self, state: dict[str, Any], batch: int) -> Terms:
        kind = state["Type"]
        if kind == "Task":
            return self.task(state)
        if kind == "Parallel":
            return add_terms({(): Counts(transitions=1)}, *map(self.graph, state["Branches"]))
        if kind == "Map" and events.is_distributed(state):
            return self.distributed(state)
        if kind == "Map":  # a batch's inline Map: its state is shared by the batch's shards
            return add_terms(
                {(): Counts(transitions=1 / batch)}, self.graph(state["ItemProcessor"])
            )
        return {(): Counts(transitions=1)}

    def distributed(self, state: dict[str, Any]) -> Terms:
        """The Map state itself, plus its processor once per shard (× the scatter's width).
        A batched child's inline Map is one transition per child, ceil(width / batch): counted
        as width / batch (a share per shard) + 1, at most one too many, to stay linear."""
        width = self.widths.get(id(state), "width")
        batch = events.batch_of(state)
        per_shard = self.graph(state["ItemProcessor"], batch)
        fixed = Counts(transitions=1 + (1 if batch > 1 else 0))
        return add_terms({(): fixed}, times_width(per_shard, width))

    def task(self, state: dict[str, Any]) -> Terms:
        resource = state.get("Resource", "")
        params = state.get("Parameters", {})
        one: Terms = {(): Counts(transitions=1)}
        if resource == asl.START_EXECUTION_SYNC:
            arn = str(params.get("StateMachineArn", ""))
            match = _CHILD_MACHINE.search(arn)  # a child machine by name, a stack's by its ARN
            return add_terms(one, self.children.get(match.group(1) if match else arn, {}))
        if resource.startswith("arn:aws:states:::lambda:"):
            return add_terms(one, {(): Counts(lambda_calls=1)})
        if resource.startswith(("arn:aws:states:::batch:", "arn:aws:states:::aws-sdk:batch:")):
            return add_terms(one, {(): _job_counts(params)})
        return one


def _job_counts(params: dict[str, Any]) -> Counts:
    """Which Batch job a submitJob state runs: a run-time step (runner job definition) or a
    call's task (its job from Prepare's result)."""
    if params.get("JobDefinition") == ref(RUNNER_JOB_DEFINITION):
        return Counts(runner_jobs=1)
    return Counts(task_jobs=1)


def _is_upload(state: dict[str, Any]) -> bool:
    """The --s3upload job (its job description comes from Finalize's result): a run without
    --s3upload, the default, never enters it."""
    return "$.final." in str(state.get("Parameters", {}).get("JobDefinition.$", ""))


def run_terms(
    definition: dict[str, Any],
    scatters: list[tuple[ir.ScatterUnit, dict[str, Any]]],
    children: dict[str, Terms],
    prices: Prices,
) -> Terms:
    """Terms of one execution of `definition` (children's executions added where they start)."""
    walker = Walker(width_names(scatters), children, prices)
    return walker.graph(definition)


def evaluate(terms: Terms, widths: dict[str, int], default: int) -> Counts:
    """The counts at given widths (`default` for any width not given)."""
    total = Counts()
    for key, counts in terms.items():
        k = 1.0
        for name in key:
            k *= widths.get(name, widths.get(name.split("@")[0], default))
        total = total + counts.times(k)
    return total


def terms_json(terms: Terms, prices: Prices) -> list[dict[str, Any]]:
    return [
        {
            "per": list(key),
            **{f.name: round(getattr(c, f.name), 6) for f in fields(c)},
            "usd": round(prices.usd(c), 8),
        }
        for key, c in sorted(terms.items(), key=lambda kv: (len(kv[0]), kv[0]))
    ]


def terms_from_json(rows: list[dict[str, Any]]) -> Terms:
    names = [f.name for f in fields(Counts)]
    return {tuple(r["per"]): Counts(*(float(r[n]) for n in names)) for r in rows}


__all__ = [
    "DEFAULT_WIDTH",
    "Counts",
    "Prices",
    "Terms",
    "evaluate",
    "run_terms",
    "terms_from_json",
    "terms_json",
    "width_names",
]
