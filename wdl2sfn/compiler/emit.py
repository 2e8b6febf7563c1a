"""The plan -> an ASL document (JSONPath), naming AWS resources only through placeholders.

Layout of one compiled workflow:

    init (the stack's start machine) -> <root step> -> outputs (its finish machine) -> done

* a call:   one `states:startExecution.sync:2` Task running the stack's call machine
            (`${CallMachineArn}`, stack_machines.py: prepare, cached?, the Batch job, collect
            and the failure step) for this call and shard.
* a scatter: eval (writes the items file) -> a Distributed Map reading it with ItemReader; shards
            are batched into child executions small enough for 25,000 history events each, and
            run through an inline Map inside the child (or one child per shard when the body holds
            another scatter, since a Distributed Map may not sit inside an inline one).
* an if:    eval (the condition) -> Choice -> body, or straight on.
* Seq/Par:  chains and Parallel states (ResultPath null: payloads never accumulate).

Run-time steps are Lambda functions (EFS). With `--filesystem fsx` they run as Batch jobs on the
runner queue instead (Lambda cannot mount FSx): see `steps.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..contract import (
    CALL_MACHINE,
    CALL_NAME_KEY,
    CPU_QUEUE,
    EVAL_FUNCTION,
    FINISH_MACHINE,
    GPU_QUEUE,
    MAP_RESULTS_PREFIX,  # Step Functions appends the Map Run id
    RUN_BUCKET,
    RUNNER_JOB_DEFINITION,
    RUNNER_QUEUE,
    SPOT_QUEUE,
    START_MACHINE,
    function_placeholder,
    ref,
)
from . import asl, ir
from .events import shards_per_child
from .names import parallel_labels
from .steps import fsx_states, fsx_wait_state

QUEUES = {"cpu": ref(CPU_QUEUE), "spot": ref(SPOT_QUEUE), "gpu": ref(GPU_QUEUE)}
INLINE_MAP_CONCURRENCY = 40
MAX_BATCH_BYTES = 200_000


@dataclass
class Emitter:
    plan: ir.Plan
    names: asl.StateNames = field(default_factory=asl.StateNames)
    #: every scatter emitted, with its Distributed Map state (the report reads both)
    scatters: list[tuple[ir.ScatterUnit, dict[str, Any]]] = field(default_factory=list)

    # ------------------------------------------------------------------ whole machine
    def machine(self) -> dict[str, Any]:
        g = asl.Graph()
        if self.plan.kind != "workflow":
            done = g.add(self.names.claim("done"), asl.succeed(output_path=None))
            g.start = self.chain(g, self.plan.root, done)
        else:
            finish = self._finish(g)
            body = self.chain(g, self.plan.root, finish)
            g.start = self._init(g, body)
        return {"Comment": f"wdl2sfn: workflow {self.plan.name}", **g.to_json()}

    def _init(self, g: asl.Graph, next_name: str) -> str:
        """init: the stack's start machine (stack_machines.py) makes the run record from the
        execution input; the run's name comes back as `ctx.run`."""
        child_input = {
            "input.$": "$",
            "execution.$": "$$.Execution.Name",
            "workflow": self._workflow_ref(),
        }
        state = self._start_stack_machine(START_MACHINE, child_input)
        state["ResultSelector"] = {"ctx": {"run.$": "$.Output.run"}, "shard": []}
        state["ResultPath"] = "$"
        return g.add(self.names.claim("init"), asl.link(state, next_name))

    def start_states(self, g: asl.Graph) -> str:
        """init, for the start machine whose input is init's event (`input`, `execution`,
        `workflow`): its output is `{"run"}`."""
        payload = {
            "input.$": "$.input",
            "execution.$": "$.execution",
            "workflow.$": "$.workflow",
            **self._stack_arns("queues", QUEUES),
        }
        selector = {"run.$": "$.Payload.run"}
        name = self.names.claim("init")
        return self.step(g, name, "init", payload, selector, "$", None, machine_output=True)

    def _start_stack_machine(self, machine: str, child_input: dict[str, Any]) -> dict[str, Any]:
        """A Task running one of the stack's machines to completion."""
        return {
            "Type": "Task",
            "Resource": asl.START_EXECUTION_SYNC,
            "Parameters": {"StateMachineArn": ref(machine), "Input": child_input},
            "ResultPath": None,
            "Retry": [dict(asl.STATES_RETRY)],
        }

    def _stack_arns(self, key: str, arns: dict[str, str]) -> dict[str, Any]:
        """Queue/runner ARNs for FSx runner jobs (Lambda functions: WDL2SFN_QUEUES, _RUNNER)."""
        return {key: dict(arns)} if self.plan.options.filesystem == "fsx" else {}

    def _workflow_ref(self) -> dict[str, Any]:
        """What init needs to find and load the workflow (quantifier checks as compiled)."""
        ref: dict[str, Any] = {"name": self.plan.name, "digest": self.plan.digest}
        if not self.plan.options.check_quant:
            ref["check_quant"] = False
        return ref

    def _finish(self, g: asl.Graph) -> str:
        """outputs (the stack's finish machine: finalize -> upload? -> upload job) -> done.
        The execution's output keeps `final.dir`, where the run's outputs are."""
        done = g.add(self.names.claim("done"), asl.succeed())
        state = self._start_stack_machine(FINISH_MACHINE, {"run.$": "$.ctx.run"})
        state["ResultSelector"] = {"dir.$": "$.Output.final.dir"}
        state["ResultPath"] = "$.final"
        return g.add(self.names.claim("outputs"), asl.link(state, done))

    def finish_states(self, g: asl.Graph) -> str:
        """outputs (finalize) -> upload? -> upload job -> done, for the finish machine whose
        input is `{"run"}` (stack_machines.py)."""
        done = g.add(self.names.claim("done"), asl.succeed())
        upload_name = self.names.claim("upload outputs")
        settings = {"RetryStrategy": {"Attempts": 3}, "Timeout": {"AttemptDurationSeconds": 86400}}
        upload = asl.batch_job_task("$.final.job", result_path=None, settings=settings)
        g.add(upload_name, asl.link(upload, done))
        choice_name = self.names.claim("upload?")
        g.add(choice_name, asl.choice_bool("$.final.upload", upload_name, done))
        outputs_name = self.names.claim("outputs")
        runner = {"queue": ref(RUNNER_QUEUE), "definition": ref(RUNNER_JOB_DEFINITION)}
        payload = {"run.$": "$.run", **self._stack_arns("runner", runner)}
        selector = {
            "upload.$": "$.Payload.upload",
            "job.$": "$.Payload.job",
            "dir.$": "$.Payload.dir",
        }
        return self.step(g, outputs_name, "finalize", payload, selector, "$.final", choice_name)

    # ------------------------------------------------------------------ steps
    def chain(self, g: asl.Graph, step: ir.Step, next_name: str | None) -> str:
        """Emit `step` into g so that it continues at next_name (None: end of branch)."""
        if step is None:
            return self._pass_through(g, next_name)
        if isinstance(step, ir.Seq):
            for part in reversed(step.steps):
                next_name = self.chain(g, part, next_name)
            assert next_name is not None
            return next_name
        if isinstance(step, ir.Par):
            return self._parallel(g, step, next_name)
        if isinstance(step, ir.Lane):
            return self._lane(g, step, next_name)
        if isinstance(step, ir.CallUnit):
            return self._call(g, step, next_name)
        if isinstance(step, ir.ScatterUnit):
            return self._scatter(g, step, next_name)
        if isinstance(step, ir.IfUnit):
            return self._if(g, step, next_name)
        if isinstance(step, ir.PartUnit):
            return self._part(g, step, next_name)
        assert isinstance(step, ir.SubMachineUnit)
        return self._sub_machine(g, step, next_name)

    def _pass_through(self, g: asl.Graph, next_name: str | None) -> str:
        if next_name is not None:
            return next_name
        return g.add(self.names.claim("nothing to do"), asl.succeed(output_path=None))

    def _end_of_branch(self, g: asl.Graph, label: str, next_name: str | None) -> str:
        """Where a Choice goes to skip ahead: the next state, or a Succeed ending the branch."""
        if next_name is not None:
            return next_name
        return g.add(self.names.claim(f"{label}: done"), asl.succeed(output_path=None))

    def _finish_state(self, state: dict[str, Any], next_name: str | None) -> dict[str, Any]:
        """Link a state; at the end of a branch emit nothing (branch outputs are discarded)."""
        asl.link(state, next_name)
        if next_name is None:
            state["OutputPath"] = None
        return state

    def _parallel(self, g: asl.Graph, step: ir.Par, next_name: str | None) -> str:
        name = self.names.claim_first(parallel_labels(step))
        branches = []
        for branch in step.branches:
            bg = asl.Graph()
            bg.start = self.chain(bg, branch, None)
            branches.append(bg.to_json())
        state: dict[str, Any] = {"Type": "Parallel", "Branches": branches, "ResultPath": None}
        return g.add(name, self._finish_state(state, next_name))

    def _lane(self, g: asl.Graph, lane: ir.Lane, next_name: str | None) -> str:
        """wait? -> unit -> release? for each item, built backwards (a call releases itself)."""
        for item in reversed(lane.items):
            if isinstance(item.unit, ir.CallUnit):
                next_name = self._call(g, item.unit, next_name, tuple(item.waiters))
            else:
                if item.waiters:
                    next_name = self._release(g, item, next_name)
                next_name = self.chain(g, item.unit, next_name)
            if item.wait_for:
                next_name = self._join(g, item, next_name)
        assert next_name is not None
        return next_name

    def _join_payload(self, item: ir.LaneItem, action: str) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "run.$": "$.ctx.run",
            **self._node_field("node", _unit_ref(item.unit)),
            "shard.$": "$.shard",
            "join": action,
        }
        if self.plan.scoped:
            payload["scope.$"] = "$.scope"
        return payload

    def _join(self, g: asl.Graph, item: ir.LaneItem, next_name: str | None) -> str:
        """Wait (a .waitForTaskToken Task) until the units of other lanes it needs are done."""
        payload = {**self._join_payload(item, "wait"), "after": list(item.wait_for)}
        payload["token.$"] = "$$.Task.Token"
        if self.plan.options.filesystem == "fsx":  # a runner job: Lambda cannot reach FSx
            state = fsx_wait_state(payload)
        else:
            state = asl.lambda_task(EVAL_FUNCTION, payload, result_selector=None, result_path=None)
            state["Resource"] = asl.LAMBDA_INVOKE_WAIT
        name = self.names.claim(f"{item.unit.label}: wait")
        return g.add(name, self._finish_state(state, next_name))

    def _release(self, g: asl.Graph, item: ir.LaneItem, next_name: str | None) -> str:
        """Mark the unit done and start the units of other lanes that were waiting for it."""
        payload = {**self._join_payload(item, "release"), "waiters": list(item.waiters)}
        name = self.names.claim(f"{item.unit.label}: release")
        return self.step(g, name, "eval", payload, None, None, next_name)

    def _call(
        self, g: asl.Graph, unit: ir.CallUnit, next_name: str | None, waiters: tuple[str, ...] = ()
    ) -> str:
        """One Task running the stack's call machine (stack_machines.py: prepare, cache check,
        Batch job, collect, failure step) to completion for this call and shard: the states
        every call repeats are written once per stack. `waiters` (units of other lanes waiting
        for this call) ride in its input: collect (or prepare, on a cache hit) releases them."""
        child_input = self._call_payload(unit.ref, waiters)
        child_input[f"{CALL_NAME_KEY}.$"] = "$$.State.Name"
        state = self._start_stack_machine(CALL_MACHINE, child_input)
        return g.add(self.names.claim(unit.label), self._finish_state(state, next_name))

    def _call_payload(self, ref: str, waiters: tuple[str, ...] = ()) -> dict[str, Any]:
        """prepare's event: the call as compiled (relative to the input's scope, if any)."""
        payload: dict[str, Any] = {"run.$": "$.ctx.run", "node": ref, "shard.$": "$.shard"}
        if self.plan.scoped:
            payload["scope.$"] = "$.scope"
        return {**payload, "waiters": list(waiters)} if waiters else payload

    def _if(self, g: asl.Graph, unit: ir.IfUnit, next_name: str | None) -> str:
        evaluate = self.names.claim(unit.label)
        choice = self.names.claim(f"{unit.label}: taken?")
        skip = self._end_of_branch(g, unit.label, next_name)
        body = self.chain(g, unit.body, next_name)
        g.add(choice, asl.choice_bool("$.cond.value", body, skip))
        return self._node_step(
            g, evaluate, "eval", unit.ref, None, {"value.$": "$.Payload.value"}, "$.cond", choice
        )

    def _scatter(self, g: asl.Graph, unit: ir.ScatterUnit, next_name: str | None) -> str:
        evaluate = self.names.claim(unit.label)
        shards = self.names.claim(f"{unit.label}: shards")
        selector = {
            "count.$": "$.Payload.count",
            "items_key.$": "$.Payload.items_key",
        }
        g.add(shards, self._finish_state(self._distributed_map(unit), next_name))
        return self._node_step(g, evaluate, "eval", unit.ref, None, selector, "$.scatter", shards)

    def _distributed_map(self, unit: ir.ScatterUnit) -> dict[str, Any]:
        item = {"ctx.$": "$.ctx", "shard.$": "$$.Map.Item.Value.shard"}
        if self.plan.scoped:
            item["scope.$"] = "$.scope"
        state: dict[str, Any] = {
            "Type": "Map",
            "Comment": f"WDL scatter at line {unit.line}",
            "ItemReader": {
                "Resource": asl.S3_GET_OBJECT,
                "ReaderConfig": {"InputType": "JSON"},
                "Parameters": {"Bucket": ref(RUN_BUCKET), "Key.$": "$.scatter.items_key"},
            },
            "ItemSelector": item,
        }
        processor = asl.Graph()
        if unit.has_inner_scatter:
            processor.start = self.chain(processor, unit.body, None)
            state["MaxConcurrency"] = self._child_concurrency(unit, 1)
        else:
            batch_map = self._batch_map(unit)
            per_batch = shards_per_child(
                batch_map["ItemProcessor"], self.plan.options.history_limit
            )
            state["ItemBatcher"] = {
                "MaxItemsPerBatch": per_batch,
                "MaxInputBytesPerBatch": MAX_BATCH_BYTES,
            }
            processor.start = processor.add(self.names.claim(f"{unit.label}: batch"), batch_map)
            state["MaxConcurrency"] = self._child_concurrency(unit, INLINE_MAP_CONCURRENCY)
        state["ItemProcessor"] = {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            **processor.to_json(),
        }
        state["ResultWriter"] = {
            "Resource": asl.S3_PUT_OBJECT,
            "Parameters": {"Bucket": ref(RUN_BUCKET), "Prefix": MAP_RESULTS_PREFIX},
        }
        state["ResultPath"] = None
        self.scatters.append((unit, state))
        return state

    def _batch_map(self, unit: ir.ScatterUnit) -> dict[str, Any]:
        """Inside a child execution: the batch's shards through an inline Map."""
        body = asl.Graph()
        body.start = self.chain(body, unit.body, None)
        concurrency = INLINE_MAP_CONCURRENCY
        if unit.max_jobs or self.plan.options.max_concurrency:
            concurrency = min(concurrency, unit.max_jobs or self.plan.options.max_concurrency)
        return {
            "Type": "Map",
            "ItemsPath": "$.Items",
            "MaxConcurrency": concurrency,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **body.to_json()},
            "ResultPath": None,
            "OutputPath": None,
            "End": True,
        }

    def _child_concurrency(self, unit: ir.ScatterUnit, jobs_per_child: int) -> int:
        """Distributed Map MaxConcurrency: the nest's share (concurrency.py), else
        --max-concurrency (Batch jobs per scatter)."""
        cap = unit.max_jobs or self.plan.options.max_concurrency or DEFAULT_SCATTER_CONCURRENCY
        return max(1, cap // jobs_per_child)

    def _sub_machine(self, g: asl.Graph, unit: ir.SubMachineUnit, next_name: str | None) -> str:
        scope = self._node_field("scope", unit.ref)
        comment = f"subworkflow {unit.machine} as its own state machine"
        return self._start_machine(g, unit.label, unit.machine, scope, comment, next_name)

    def _part(self, g: asl.Graph, unit: ir.PartUnit, next_name: str | None) -> str:
        """A piece of this machine that lives in a child machine (definition size limit)."""
        scope = {"scope.$": "$.scope"} if self.plan.scoped else {}
        comment = "moved to a child state machine to stay under the 1 MB definition limit"
        return self._start_machine(g, unit.label, unit.machine, scope, comment, next_name)

    def _start_machine(
        self,
        g: asl.Graph,
        label: str,
        machine: str,
        scope: dict[str, str],
        comment: str,
        next_name: str | None,
    ) -> str:
        """A child state machine run to completion (startExecution.sync:2) on this shard."""
        child_input = {
            "ctx.$": "$.ctx",
            "shard.$": "$.shard",
            "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
            **scope,
        }
        state: dict[str, Any] = {
            "Type": "Task",
            "Resource": asl.START_EXECUTION_SYNC,
            "Comment": comment,
            "Parameters": {
                "StateMachineArn": "${StateMachineArn_" + machine + "}",
                "Input": child_input,
            },
            "ResultPath": None,
            "Retry": [dict(asl.STATES_RETRY)],
        }
        return g.add(self.names.claim(label), self._finish_state(state, next_name))

    # ------------------------------------------------------------------ run-time step invocations
    def _node_field(self, key: str, ref: str) -> dict[str, str]:
        """A node reference in a payload; relative to the input's scope in a child machine."""
        if self.plan.scoped:
            return {f"{key}.$": f"States.Format('{{}}/{ref}', $.scope)"}
        return {key: ref}

    def _node_step(
        self,
        g: asl.Graph,
        name: str,
        step: str,
        ref: str,
        extra: dict[str, Any] | None,
        selector: dict[str, Any] | None,
        result_path: str | None,
        next_name: str | None,
    ) -> str:
        """A run-time step (prepare, collect, eval) for one node instance."""
        payload: dict[str, Any] = {
            "run.$": "$.ctx.run",
            **self._node_field("node", ref),
            "shard.$": "$.shard",
        }
        payload.update(extra or {})
        return self.step(g, name, step, payload, selector, result_path, next_name)

    def step(
        self,
        g: asl.Graph,
        name: str,
        step: str,
        payload: dict[str, Any] | str,
        selector: dict[str, Any] | None,
        result_path: str | None,
        next_name: str | None,
        *,
        machine_output: bool = False,
    ) -> str:
        """Emit the state(s) invoking a run-time step; returns the first one's name. Ending a
        branch (`next_name` None), the last state outputs nothing, unless its output is the
        machine's (`machine_output`: the start machine's `{"run"}`)."""
        if self.plan.options.filesystem == "fsx":
            chain = fsx_states(name, step, payload, selector, result_path)
        else:
            placeholder = function_placeholder(step)
            state = asl.lambda_task(
                placeholder, payload, result_selector=selector, result_path=result_path
            )
            if step == "prepare":
                state["Retry"] = [asl.PREPARE_RETRY]
            chain = [("", state)]
        names = [name] + [self.names.claim(name + suffix) for suffix, _ in chain[1:]]
        for i, (_, state) in enumerate(chain):
            following = names[i + 1] if i + 1 < len(chain) else next_name
            ends_machine = machine_output and following is None
            g.add(
                names[i],
                asl.link(state, None) if ends_machine else self._finish_state(state, following),
            )
        return name


def _unit_ref(unit: ir.Unit) -> str:
    assert not isinstance(unit, ir.PartUnit), "parts are made after scheduling"
    return unit.key  # a piece of a split section has its own (the section's ref is shared)


# Shards of one scatter in flight at once by default: each calls prepare and collect (Lambda), so
# this bounds the scatter's concurrent invocations under the default 1,000 per Region (a
# throttled call is retried: LAMBDA_RETRY); AWS Batch's default 256 vCPUs run fewer jobs anyway.
DEFAULT_SCATTER_CONCURRENCY = 800


def emit(plan: ir.Plan) -> dict[str, Any]:
    return Emitter(plan).machine()
