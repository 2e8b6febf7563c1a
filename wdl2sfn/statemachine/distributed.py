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
import tempfile
import threading
import uuid
from collections.abc import Sequence
from typing import IO, Any

from .concurrent import map_concurrency, map_items, run_all, select_item
from .errors import (
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    ITEM_READER_FAILED,
    RESULT_WRITER_FAILED,
    ExecutionAbortedError,
    StatesError,
)
from .execution import Execution, Scope
from .interpreter import resolve_number
from .items import ChildInputs, JsonArrayItems, NotAnArrayError
from .model import State
from .paths import ContextFn
from .quotas import to_json
from .runtime import ExecutionResult

GET_OBJECT = "arn:aws:states:::s3:getObject"
PUT_OBJECT = "arn:aws:states:::s3:putObject"
DISTRIBUTED_MAX_CONCURRENCY = 10_000
THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded"


def run_distributed(
    state: State, value: Any, ctx: ContextFn, scope: Scope, retry_count: int
) -> Any:
    """Run a Distributed Map's children; return the Map's raw result."""
    items = read_items(state, value, ctx, scope)
    inputs = make_batches(state, items, value, ctx, scope)
    scope.emit("MapStateStarted", {"length": len(inputs)})
    run = _MapRun(state, scope, value, ctx, len(inputs))
    try:
        scope.emit("MapRunStarted", {"mapRunArn": run.arn})
        cap = min(DISTRIBUTED_MAX_CONCURRENCY, scope.run.executor.max_threads)
        workers = map_concurrency(state, value, ctx, cap)
        try:
            run_all(_ChildJobs(run, inputs), scope, workers)
        except StatesError as err:
            run.write_results_quietly()
            scope.emit("MapRunFailed", {"error": err.error, "cause": err.cause})
            raise
        result = run.write_results() if state.result_writer is not None else run.outputs()
    finally:
        run.close()
    scope.emit("MapRunSucceeded")
    return result


class _ChildJobs(Sequence[Any]):
    """The Map Run's jobs, made when a worker takes them (a child's input is built then)."""

    def __init__(self, run: _MapRun, inputs: Sequence[Any]) -> None:
        self.run = run
        self.inputs = inputs

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self.run.job(index, self.inputs)


# ---------------------------------------------------------------- items and batches


def read_items(state: State, value: Any, ctx: ContextFn, scope: Scope) -> Sequence[Any]:
    """Items from the ItemReader (the object store, kept as JSON text) or from ItemsPath."""
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
        body = store.get_object(bucket, key)
        items = JsonArrayItems(body.decode(json.detect_encoding(body), "surrogatepass"))
    except NotAnArrayError:
        raise StatesError(
            ITEM_READER_FAILED, f"s3://{bucket}/{key} does not hold a JSON array"
        ) from None
    except Exception as exc:
        raise StatesError(ITEM_READER_FAILED, f"cannot read s3://{bucket}/{key}: {exc}") from None
    max_items = _reader_max_items(config, value, ctx)
    if max_items:
        items.truncate(max_items)
    return items


def _reader_max_items(config: dict[str, Any], value: Any, ctx: ContextFn) -> int | None:
    from .model import _number

    field = _number(config, "MaxItems")
    number = resolve_number(field, value, ctx, "MaxItems")
    return int(number) if number else None


def make_batches(
    state: State, items: Sequence[Any], value: Any, ctx: ContextFn, scope: Scope
) -> Sequence[Any]:
    """The child inputs per ItemBatcher (each selected item is one without it), built lazily."""

    def select(index: int, item: Any) -> Any:
        return select_item(state, scope, value, index, item)

    inputs = ChildInputs(items, select)
    batcher = state.item_batcher
    if batcher is None:
        return inputs
    from .model import _number

    max_items = resolve_number(_number(batcher, "MaxItemsPerBatch"), value, ctx, "MaxItemsPerBatch")
    max_bytes = resolve_number(
        _number(batcher, "MaxInputBytesPerBatch"), value, ctx, "MaxInputBytesPerBatch"
    )
    batch_input = state.batch_input(value, ctx) if state.batch_input is not None else None
    base = {"Items": []} if batch_input is None else {"Items": [], "BatchInput": batch_input}
    inputs.batch(base, max_items, max_bytes)
    return inputs


# ---------------------------------------------------------------- the map run


class _MapRun:
    """One Map Run: its ARN, child executions, failure threshold and results.

    A finished child leaves only what the Map's result needs: its output (or Error/Cause)
    without a ResultWriter, or with one its execution record as JSON text in a temporary file
    (the records of 200 children of 500 shards hold 5 MiB of inputs), read back when the
    result files are written. Child Execution objects are not kept."""

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
        self.results: list[Any] = [] if state.result_writer is not None else [None] * total
        self.spill: IO[str] | None = None
        if state.result_writer is not None:
            self.spill = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
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

    def job(self, index: int, inputs: Sequence[Any]) -> Any:
        def run_child(sub: Scope) -> Any:
            child_input = inputs[index]
            child = self._child(index, child_input, sub)
            result = child.run_inline()
            if sub.token.is_set():
                raise ExecutionAbortedError("aborted")
            self._record(index, child, result, child_input)
            return None  # the Map's result comes from this run's records

        return run_child

    def _child(self, index: int, child_input: Any, sub: Scope) -> Any:
        """The child execution of one item (or batch), authorized as on AWS."""
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
            replay_parent=sub.replay,
        )
        if authorize is not None:  # the Map Run follows its children
            authorize(self.parent.state_machine_arn, "states:DescribeExecution", child.arn)
        return child

    def _record(self, index: int, child: Any, result: ExecutionResult, child_input: Any) -> None:
        """Keep what the result needs of a finished child; count its failure."""
        ok = result.status == "SUCCEEDED"
        line = ""
        if self.spill is not None:
            record = json.dumps(_execution_record(child, result, child_input))
            line = f"{index}\t{'SUCCEEDED' if ok else 'FAILED'}\t{record}\n"
        with self.lock:
            if self.spill is not None:
                self.spill.write(line)
            else:
                self.results[index] = (
                    result.output if ok else {"Error": result.error, "Cause": result.cause}
                )
            if not ok:
                self.failed += 1
                if self.exceeded():
                    raise StatesError(EXCEED_TOLERATED_FAILURE_THRESHOLD, THRESHOLD_CAUSE)

    def outputs(self) -> list[Any]:
        return self.results

    def close(self) -> None:
        if self.spill is not None:
            self.spill.close()
            self.spill = None

    def write_results_quietly(self) -> None:
        if self.state.result_writer is None:
            return
        try:
            self.write_results()
        except StatesError:
            pass

    def _groups(self) -> dict[str, list[str]]:
        """The spilled records (JSON text) by status, in child order."""
        groups: dict[str, list[tuple[int, str]]] = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
        assert self.spill is not None
        with self.lock:
            self.spill.flush()
            self.spill.seek(0)
            for line in self.spill:
                index, status, record = line.rstrip("\n").split("\t", 2)
                groups[status].append((int(index), record))
            self.spill.seek(0, 2)
        return {status: [r for _, r in sorted(entries)] for status, entries in groups.items()}

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
        files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
        try:
            for status, entries in self._groups().items():
                if not entries:
                    continue
                key = f"{base}/{status}_0.json"
                body = ("[" + ", ".join(entries) + "]").encode("utf-8")  # = json.dumps(records)
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
