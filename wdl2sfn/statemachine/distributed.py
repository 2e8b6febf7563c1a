"""Distributed Map: every item (or batch) runs as its own child execution, as on AWS.

* Items come from ``ItemReader`` (``arn:aws:states:::s3:getObject`` with ``ReaderConfig.InputType``
  JSON, ``MaxItems``/``MaxItemsPath``; Bucket/Key from ``Parameters``, ``.$`` allowed) served by the
  executor's object store, or from ``ItemsPath``. Failures: ``States.ItemReaderFailed``.
* ``ItemSelector`` shapes each item (``$$.Map.Item.Index``/``Value``), then ``ItemBatcher``
  (``MaxItemsPerBatch(Path)``, ``MaxInputBytesPerBatch(Path)``, ``BatchInput``) groups them into
  child inputs ``{"Items": [...], "BatchInput": ...}``.
* Each child is a separate execution with its own history and its own 25,000-event quota. Its
  history is written to ``<history_dir>/map_runs/<map state name>/<child name>/history.jsonl``;
  the child name is the item (or batch) index, prefixed ``<k>.`` for the k-th later Map Run of the
  same state in the same execution (a retried Map, or one inside an inline Map).
* ``ToleratedFailureCount``/``ToleratedFailurePercentage`` (and their Paths), default 0: past the
  threshold the remaining children are aborted and the state fails with
  ``States.ExceedToleratedFailureThreshold``.
* ``ResultWriter`` (``arn:aws:states:::s3:putObject``, Bucket/Prefix) writes, like AWS,
  ``<Prefix>/<map run id>/manifest.json`` and ``SUCCEEDED_0.json``/``FAILED_0.json`` holding
  execution records; the state's result is then ``{"MapRunArn", "ResultWriterDetails": {"Bucket",
  "Key"}}``. Without it the result is the array of child outputs (``{"Error", "Cause"}`` for a
  tolerated failed child). Write failures: ``States.ResultWriterFailed``.
* Parent history: MapStateStarted, MapRunStarted, MapRunSucceeded/MapRunFailed.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from .concurrent import map_concurrency, map_items, run_all, select_item
from .errors import (
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    ITEM_READER_FAILED,
    RESULT_WRITER_FAILED,
    ExecutionAbortedError,
    StatesError,
)
from .interpreter import resolve_number
from .model import State
from .paths import ContextFn
from .quotas import payload_size, to_json
from .runtime import ExecutionResult, Scope

GET_OBJECT = "arn:aws:states:::s3:getObject"
PUT_OBJECT = "arn:aws:states:::s3:putObject"
DISTRIBUTED_MAX_CONCURRENCY = 10_000
THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded"


def run_distributed(
    state: State, value: Any, ctx: ContextFn, scope: Scope, retry_count: int
) -> Any:
    """Run a Distributed Map's children; return the Map's raw result."""
    items = read_items(state, value, ctx, scope)
    selected = [select_item(state, scope, value, i, item) for i, item in enumerate(items)]
    inputs = make_batches(state, selected, value, ctx)
    scope.emit("MapStateStarted", {"length": len(inputs)})
    run = _MapRun(state, scope, value, ctx, len(inputs))
    scope.emit("MapRunStarted", {"mapRunArn": run.arn})
    cap = min(DISTRIBUTED_MAX_CONCURRENCY, scope.run.executor.max_threads)
    workers = map_concurrency(state, value, ctx, cap)
    jobs = [run.job(i, child_input) for i, child_input in enumerate(inputs)]
    try:
        run_all(jobs, scope, workers)
    except StatesError as err:
        run.write_results_quietly()
        scope.emit("MapRunFailed", {"error": err.error, "cause": err.cause})
        raise
    except ExecutionAbortedError:
        raise
    result = run.write_results() if state.result_writer is not None else run.outputs()
    scope.emit("MapRunSucceeded")
    return result


# ---------------------------------------------------------------- items and batches


def read_items(state: State, value: Any, ctx: ContextFn, scope: Scope) -> list[Any]:
    """Items from the ItemReader (the object store) or from ItemsPath."""
    reader = state.item_reader
    if reader is None:
        return map_items(state, value, ctx)
    assert state.item_reader_parameters is not None
    params = state.item_reader_parameters(value, ctx)
    config = reader.get("ReaderConfig") or {}
    if reader.get("Resource") != GET_OBJECT or config.get("InputType", "JSON") != "JSON":
        raise StatesError(
            ITEM_READER_FAILED,
            f"only {GET_OBJECT} with InputType JSON is supported locally, got "
            f"{reader.get('Resource')} / {config.get('InputType')}",
        )
    store = scope.run.executor.object_store
    bucket, key = params.get("Bucket"), params.get("Key")
    if store is None:
        raise StatesError(ITEM_READER_FAILED, "no object store is configured for ItemReader")
    try:
        items = json.loads(store.get_object(bucket, key))
    except Exception as exc:
        raise StatesError(ITEM_READER_FAILED, f"cannot read s3://{bucket}/{key}: {exc}") from None
    if not isinstance(items, list):
        raise StatesError(ITEM_READER_FAILED, f"s3://{bucket}/{key} does not hold a JSON array")
    max_items = _reader_max_items(config, value, ctx)
    return items[:max_items] if max_items else items


def _reader_max_items(config: dict[str, Any], value: Any, ctx: ContextFn) -> int | None:
    from .model import _number

    field = _number(config, "MaxItems")
    number = resolve_number(field, value, ctx, "MaxItems")
    return int(number) if number else None


def make_batches(state: State, items: list[Any], value: Any, ctx: ContextFn) -> list[Any]:
    """Group items into child inputs per ItemBatcher; without it each item is a child input."""
    batcher = state.item_batcher
    if batcher is None:
        return items
    from .model import _number

    max_items = resolve_number(_number(batcher, "MaxItemsPerBatch"), value, ctx, "MaxItemsPerBatch")
    max_bytes = resolve_number(
        _number(batcher, "MaxInputBytesPerBatch"), value, ctx, "MaxInputBytesPerBatch"
    )
    batch_input = state.batch_input(value, ctx) if state.batch_input is not None else None
    base = {"Items": []} if batch_input is None else {"Items": [], "BatchInput": batch_input}
    base_size = payload_size(to_json(base))
    batches: list[list[Any]] = []
    current: list[Any] = []
    size = base_size
    for item in items:
        item_size = payload_size(to_json(item))
        grown = size + item_size + (1 if current else 0)
        if current and (
            (max_items and len(current) >= max_items) or (max_bytes and grown > max_bytes)
        ):
            batches.append(current)
            current, grown = [], base_size + item_size
        current.append(item)
        size = grown
    if current:
        batches.append(current)
    return [{**base, "Items": batch} for batch in batches]


# ---------------------------------------------------------------- the map run


class _MapRun:
    """One Map Run: its ARN, child executions, failure threshold and result files."""

    _runs_lock = threading.Lock()

    def __init__(self, state: State, scope: Scope, value: Any, ctx: ContextFn, total: int) -> None:
        self.state = state
        self.scope = scope
        self.parent = scope.run
        self.id = str(uuid.uuid4())
        sm_name = self.parent.state_machine_name
        self.arn = f"arn:aws:states:{self.parent.region}:{self.parent.account}:mapRun:{sm_name}/{state.name}:{self.id}"
        self.child_sm_arn = f"{self.parent.state_machine_arn}/{state.name}"
        self.total = total
        self.value = value
        self.ctx = ctx
        self.records: list[tuple[Any, ExecutionResult, Any] | None] = [None] * total
        self.failed = 0
        self.lock = threading.Lock()
        count = resolve_number(state.tolerated_count, value, ctx, "ToleratedFailureCount")
        pct = resolve_number(state.tolerated_percentage, value, ctx, "ToleratedFailurePercentage")
        if count is None and pct is None:
            count = 0
        self.tolerated_count = count
        self.tolerated_pct = pct
        self.prefix = self._run_prefix()

    def _run_prefix(self) -> str:
        """'' for the first Map Run of this state in the execution, then '1.', '2.'..."""
        with self._runs_lock:
            runs = self.parent.map_runs
            k = runs.get(self.state.name, 0)
            runs[self.state.name] = k + 1
        return f"{k}." if k else ""

    def exceeded(self) -> bool:
        if self.tolerated_count is not None and self.failed > self.tolerated_count:
            return True
        pct = self.tolerated_pct
        return pct is not None and self.total > 0 and self.failed * 100.0 / self.total > pct

    def job(self, index: int, child_input: Any) -> Any:
        def run_child(sub: Scope) -> Any:
            from .executor import Execution

            name = f"{self.prefix}{index}"
            authorize = self.parent.executor.authorizer
            if authorize is not None:  # a Map Run child is an execution of the parent machine
                machine = self.parent.state_machine_arn.split("/", 1)[0]
                authorize(self.parent.state_machine_arn, "states:StartExecution", machine)
            hdir = self.parent.history_dir
            child_dir = hdir / "map_runs" / self.state.name / name if hdir else None
            assert self.state.processor is not None
            child = Execution(
                self.parent.executor,
                self.state.processor,
                child_input,
                name,
                child_dir,
                self.child_sm_arn,
                parent_token=sub.token,
                event_key=f"{self.arn}/{name}",
            )
            if authorize is not None:  # the Map Run follows its children
                authorize(self.parent.state_machine_arn, "states:DescribeExecution", child.arn)
            result = child.run_inline()
            child.history.events.clear()  # the file keeps them; 10,000 children need not
            if sub.token.is_set():
                raise ExecutionAbortedError("aborted")
            with self.lock:
                self.records[index] = (child, result, child_input)
                if result.status != "SUCCEEDED":
                    self.failed += 1
                    if self.exceeded():
                        raise StatesError(EXCEED_TOLERATED_FAILURE_THRESHOLD, THRESHOLD_CAUSE)
            return result.output

        return run_child

    def outputs(self) -> list[Any]:
        out: list[Any] = []
        for record in self.records:
            if record is None:
                out.append(None)
                continue
            _, result, _ = record
            if result.status == "SUCCEEDED":
                out.append(result.output)
            else:
                out.append({"Error": result.error, "Cause": result.cause})
        return out

    def write_results_quietly(self) -> None:
        if self.state.result_writer is None:
            return
        try:
            self.write_results()
        except StatesError:
            pass

    def write_results(self) -> dict[str, Any]:
        """ResultWriter: manifest.json and SUCCEEDED_0/FAILED_0 files; returns the state result."""
        assert self.state.result_writer_parameters is not None
        params = self.state.result_writer_parameters(self.value, self.ctx)
        writer = self.state.result_writer or {}
        store = self.parent.executor.object_store
        bucket, prefix = params.get("Bucket"), str(params.get("Prefix", "")).strip("/")
        if writer.get("Resource") != PUT_OBJECT or store is None or not bucket:
            raise StatesError(
                RESULT_WRITER_FAILED,
                "ResultWriter needs s3:putObject, a Bucket and an object store",
            )
        base = f"{prefix}/{self.id}" if prefix else self.id
        groups: dict[str, list[dict[str, Any]]] = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
        for record in self.records:
            if record is None:
                continue
            child, result, child_input = record
            status = "SUCCEEDED" if result.status == "SUCCEEDED" else "FAILED"
            groups[status].append(_execution_record(child, result, child_input))
        files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
        try:
            for status, entries in groups.items():
                if not entries:
                    continue
                key = f"{base}/{status}_0.json"
                body = json.dumps(entries).encode("utf-8")
                store.put_object(bucket, key, body)
                files[status].append({"Key": key, "Size": len(body)})
            manifest = {"DestinationBucket": bucket, "MapRunArn": self.arn, "ResultFiles": files}
            manifest_key = f"{base}/manifest.json"
            store.put_object(bucket, manifest_key, json.dumps(manifest).encode("utf-8"))
        except Exception as exc:
            raise StatesError(
                RESULT_WRITER_FAILED, f"cannot write results to s3://{bucket}/{base}: {exc}"
            ) from None
        return {
            "MapRunArn": self.arn,
            "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key},
        }


def _execution_record(child: Any, result: ExecutionResult, child_input: Any) -> dict[str, Any]:
    """One entry of a SUCCEEDED_n/FAILED_n results file, as AWS writes them."""
    from .history import iso_timestamp

    record: dict[str, Any] = {
        "ExecutionArn": child.arn,
        "Input": to_json(child_input),
        "InputDetails": {"Included": True},
        "Name": child.name,
        "StartDate": iso_timestamp(child.start_time),
        "StateMachineArn": child.state_machine_arn,
        "Status": result.status,
        "StopDate": iso_timestamp(child.stop_time or child.start_time),
    }
    if result.status == "SUCCEEDED":
        record["Output"] = to_json(result.output)
        record["OutputDetails"] = {"Included": True}
    else:
        record["Error"] = result.error
        record["Cause"] = result.cause
    return record
