"""Distributed Map: ItemReader from a FolderObjectStore, ItemBatcher, child executions and their
histories, failure tolerance, ResultWriter."""

from __future__ import annotations

import json
from pathlib import Path

from wdl2sfn.statemachine.executor import Executor, FolderObjectStore
from wdl2sfn.statemachine.quotas import Quotas

from .conftest import events_of, machine

GET = "arn:aws:states:::s3:getObject"
PUT = "arn:aws:states:::s3:putObject"


def dmap(processor, **extra):
    state = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            **processor,
        },
        "End": True,
        **extra,
    }
    return machine(("DM", state))


def reader(key="items.json", **config):
    return (
        {
            "Resource": GET,
            "ReaderConfig": {"InputType": "JSON", **config},
            "Parameters": {"Bucket": "wdl2sfn-local", "Key.$": "$.key"},
        }
        if key
        else {}
    )


def store_with(tmp_path: Path, items) -> FolderObjectStore:
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    (bucket / "items.json").write_text(json.dumps(items))
    return FolderObjectStore(tmp_path / "other", buckets={"wdl2sfn-local": bucket})


def test_item_reader_reads_items_from_the_object_store(tmp_path):
    store = store_with(tmp_path, [{"v": 1}, {"v": 2}, {"v": 3}])
    d = dmap(
        machine(("P", {"Type": "Pass", "OutputPath": "$.v", "End": True})), ItemReader=reader()
    )
    result = Executor(d, {}, object_store=store, history_dir=tmp_path / "h").run(
        {"key": "items.json"}, "x"
    )
    assert result.output == [1, 2, 3]


def test_item_reader_max_items(tmp_path):
    store = store_with(tmp_path, list(range(10)))
    d = dmap(machine(("P", {"Type": "Pass", "End": True})), ItemReader=reader(MaxItems=4))
    assert Executor(d, {}, object_store=store).run({"key": "items.json"}, "x").output == [
        0,
        1,
        2,
        3,
    ]


def test_item_reader_missing_object_fails_item_reader_failed(tmp_path):
    store = store_with(tmp_path, [])
    d = dmap(machine(("P", {"Type": "Pass", "End": True})), ItemReader=reader())
    assert (
        Executor(d, {}, object_store=store).run({"key": "nope.json"}, "x").error
        == "States.ItemReaderFailed"
    )


def test_item_batcher_builds_items_and_batch_input(tmp_path):
    store = store_with(tmp_path, list(range(5)))
    d = dmap(
        machine(("P", {"Type": "Pass", "End": True})),
        ItemReader=reader(),
        ItemBatcher={"MaxItemsPerBatch": 2, "BatchInput": {"k.$": "$.key"}},
    )
    out = Executor(d, {}, object_store=store).run({"key": "items.json"}, "x").output
    assert out == [
        {"Items": [0, 1], "BatchInput": {"k": "items.json"}},
        {"Items": [2, 3], "BatchInput": {"k": "items.json"}},
        {"Items": [4], "BatchInput": {"k": "items.json"}},
    ]


def test_item_batcher_max_input_bytes(tmp_path):
    d = dmap(
        machine(("P", {"Type": "Pass", "End": True})),
        ItemsPath="$.xs",
        ItemBatcher={"MaxInputBytesPerBatch": 30},
    )
    out = Executor(d, {}).run({"xs": ["aaaaaaaa", "bbbbbbbb", "cccccccc"]}, "x").output
    assert [len(b["Items"]) for b in out] == [1, 1, 1] or [len(b["Items"]) for b in out] == [2, 1]
    assert all(len(json.dumps(b, separators=(",", ":"))) <= 30 for b in out)


def test_item_selector_with_map_item_context(tmp_path):
    d = dmap(
        machine(("P", {"Type": "Pass", "End": True})),
        ItemsPath="$.xs",
        ItemSelector={"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value"},
    )
    assert Executor(d, {}).run({"xs": ["a", "b"]}, "x").output == [
        {"i": 0, "v": "a"},
        {"i": 1, "v": "b"},
    ]


def test_children_have_their_own_histories(tmp_path):
    d = dmap(machine(("P", {"Type": "Pass", "End": True})), ItemsPath="$.xs")
    result = Executor(d, {}, history_dir=tmp_path).run({"xs": [1, 2]}, "parent")
    parent_types = [e["type"] for e in events_of(result)]
    assert parent_types == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    for i in (0, 1):
        child = tmp_path / "map_runs" / "DM" / str(i) / "history.jsonl"
        types = [json.loads(line)["type"] for line in child.read_text().splitlines()]
        assert types == [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded",
        ]


def test_children_count_history_events_separately(tmp_path):
    # 4 events per child; 30 children would blow a 50-event quota if they were counted in the parent.
    d = dmap(machine(("P", {"Type": "Pass", "End": True})), ItemsPath="$.xs")
    result = Executor(d, {}, quotas=Quotas(history_events=50)).run({"xs": list(range(30))}, "x")
    assert result.status == "SUCCEEDED" and result.event_count == 8


def test_a_child_failure_fails_with_exceed_tolerated_failure_threshold(tmp_path):
    d = dmap(
        machine(
            (
                "C",
                {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$", "NumericEquals": 1, "Next": "F"}],
                    "Default": "P",
                },
            ),
            ("P", {"Type": "Pass", "End": True}),
            ("F", {"Type": "Fail", "Error": "One"}),
        ),
        ItemsPath="$.xs",
    )
    result = Executor(d, {}, history_dir=tmp_path).run({"xs": [0, 1, 2]}, "x")
    assert (result.status, result.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    assert "MapRunFailed" in [e["type"] for e in events_of(result)]


def test_tolerated_failure_count_lets_the_map_succeed(tmp_path):
    d = dmap(
        machine(
            (
                "C",
                {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$", "NumericEquals": 1, "Next": "F"}],
                    "Default": "P",
                },
            ),
            ("P", {"Type": "Pass", "End": True}),
            ("F", {"Type": "Fail", "Error": "One", "Cause": "c"}),
        ),
        ItemsPath="$.xs",
        ToleratedFailureCount=1,
    )
    out = Executor(d, {}).run({"xs": [0, 1, 2]}, "x").output
    assert out == [0, {"Error": "One", "Cause": "c"}, 2]


def test_tolerated_failure_percentage(tmp_path):
    d = dmap(
        machine(("F", {"Type": "Fail", "Error": "E"})),
        ItemsPath="$.xs",
        ToleratedFailurePercentage=50,
    )
    assert (
        Executor(d, {}).run({"xs": [0, 1, 2]}, "x").error
        == "States.ExceedToleratedFailureThreshold"
    )


def test_result_writer_writes_manifest_and_results(tmp_path):
    store = FolderObjectStore(tmp_path / "s3")
    d = dmap(
        machine(("P", {"Type": "Pass", "End": True})),
        ItemsPath="$.xs",
        ResultWriter={"Resource": PUT, "Parameters": {"Bucket": "out", "Prefix": "results"}},
    )
    out = Executor(d, {}, object_store=store).run({"xs": [1, 2]}, "x").output
    assert out["MapRunArn"].startswith("arn:aws:states:") and ":mapRun:" in out["MapRunArn"]
    details = out["ResultWriterDetails"]
    assert (
        details["Bucket"] == "out"
        and details["Key"].startswith("results/")
        and details["Key"].endswith("/manifest.json")
    )
    manifest = json.loads(store.get_object("out", details["Key"]))
    assert manifest["MapRunArn"] == out["MapRunArn"]
    [succeeded] = manifest["ResultFiles"]["SUCCEEDED"]
    records = json.loads(store.get_object("out", succeeded["Key"]))
    assert [json.loads(r["Output"]) for r in records] == [1, 2]
    assert all(r["Status"] == "SUCCEEDED" for r in records)


def test_distributed_max_concurrency_limits_children(tmp_path):
    import threading
    import time

    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def track(call):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.03)
        with lock:
            state["now"] -= 1
        return 1

    d = dmap(
        machine(("T", {"Type": "Task", "Resource": "r", "End": True})),
        ItemsPath="$.xs",
        MaxConcurrency=2,
    )
    assert Executor(d, {"r": track}).run({"xs": list(range(6))}, "x").output == [1] * 6
    assert state["peak"] == 2


def test_result_writer_prefix_path_is_evaluated_against_the_input(tmp_path):
    store = FolderObjectStore(tmp_path / "s3")
    d = dmap(
        machine(("P", {"Type": "Pass", "End": True})),
        ItemsPath="$.xs",
        ResultWriter={"Resource": PUT, "Parameters": {"Bucket": "out", "Prefix.$": "$.prefix"}},
    )
    out = Executor(d, {}, object_store=store).run({"xs": [1], "prefix": "dyn/p"}, "x").output
    assert out["ResultWriterDetails"]["Key"].startswith("dyn/p/")


def test_each_map_run_child_reports_its_events_under_a_key_of_its_own(tmp_path):
    """Every inner Map Run numbers its children from 0, so listeners (the live view) need a key
    that is unique in the run, or two children's events would be counted as one history."""
    inner = dmap(machine(("P", {"Type": "Pass", "End": True})), ItemsPath="$.inner")
    outer = machine(("Outer", {**dmap(inner)["States"]["DM"]}))
    seen: dict[str, list[int]] = {}
    executor = Executor(
        outer, {}, on_event=lambda key, event: seen.setdefault(key, []).append(event["id"])
    )
    result = executor.run([{"inner": [1, 2]}, {"inner": [3, 4]}, {"inner": [5]}], "x")
    assert result.error is None
    assert len(seen) == 1 + 3 + 5  # the run, its 3 outer children, one per inner item
    assert all(ids == list(range(1, len(ids) + 1)) for ids in seen.values())


def test_result_files_list_children_in_item_order_whatever_order_they_end(tmp_path):
    """Children that end late (here the first ones, which wait) still come first in the results
    file, and tolerated failures go to FAILED_0.json, as AWS writes them."""
    store = FolderObjectStore(tmp_path / "s3")
    body = machine(
        ("Wait?", {"Type": "Choice", "Choices": [
            {"Variable": "$", "NumericLessThan": 2, "Next": "W"},
            {"Variable": "$", "NumericEquals": 4, "Next": "F"},
        ], "Default": "P"}),
        ("W", {"Type": "Wait", "Seconds": 1, "Next": "P"}),
        ("F", {"Type": "Fail", "Error": "E", "Cause": "four"}),
        ("P", {"Type": "Pass", "End": True}),
    )  # fmt: skip
    d = dmap(
        body,
        ItemsPath="$.xs",
        ToleratedFailureCount=1,
        ResultWriter={"Resource": PUT, "Parameters": {"Bucket": "out", "Prefix": "r"}},
    )
    out = Executor(d, {}, object_store=store).run({"xs": [0, 1, 2, 3, 4, 5]}, "x").output
    manifest = json.loads(store.get_object("out", out["ResultWriterDetails"]["Key"]))
    [ok], [failed] = manifest["ResultFiles"]["SUCCEEDED"], manifest["ResultFiles"]["FAILED"]
    ok_body = store.get_object("out", ok["Key"])
    records = json.loads(ok_body)
    assert [r["Name"] for r in records] == ["0", "1", "2", "3", "5"]
    assert ok_body == json.dumps(records).encode() and ok["Size"] == len(ok_body)
    [failure] = json.loads(store.get_object("out", failed["Key"]))
    assert (failure["Name"], failure["Error"], failure["Cause"]) == ("4", "E", "four")


def test_item_reader_object_that_is_not_an_array_fails_item_reader_failed(tmp_path):
    store = store_with(tmp_path, {"Items": [1]})
    d = dmap(machine(("P", {"Type": "Pass", "End": True})), ItemReader=reader())
    result = Executor(d, {}, object_store=store).run({"key": "items.json"}, "x")
    assert result.error == "States.ItemReaderFailed"
    assert "does not hold a JSON array" in result.cause


def test_item_reader_invalid_json_fails_item_reader_failed(tmp_path):
    store = store_with(tmp_path, [])
    (tmp_path / "bucket" / "items.json").write_text("[1, 2")
    d = dmap(machine(("P", {"Type": "Pass", "End": True})), ItemReader=reader())
    result = Executor(d, {}, object_store=store).run({"key": "items.json"}, "x")
    assert result.error == "States.ItemReaderFailed"
    assert result.cause.startswith("cannot read s3://wdl2sfn-local/items.json")
