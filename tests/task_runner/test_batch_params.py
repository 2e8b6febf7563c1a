"""Runtime attributes -> AWS Batch parameters (pure functions, table-tested)."""

from __future__ import annotations

from typing import Any

import pytest

from wdl2sfn.task_runner import batch_params as bp

QUEUES = {"cpu": "arn:q/cpu", "spot": "arn:q/spot", "gpu": "arn:q/gpu"}


@pytest.mark.parametrize(
    ("cpu", "expected"),
    [
        (None, 1),
        (1, 1),
        (2, 2),
        (1.5, 2),  # ceil, as miniwdl
        (0.25, 1),  # at least 1
        (0, 1),
        ("4", 4),
        ("2.0", 2),
    ],
)
def test_vcpus(cpu: Any, expected: int) -> None:
    assert bp.vcpus(cpu) == expected


def test_vcpu_resource_value_is_an_integer_string() -> None:
    reqs = bp.resource_requirements(bp.vcpus(2.0), 2048)
    assert reqs[0] == {"Type": "VCPU", "Value": "2"}


@pytest.mark.parametrize(
    ("memory", "mib"),
    [
        (None, 2048),  # WDL 1.1 default "2 GiB"
        ("4 GiB", 4096),
        ("4GiB", 4096),
        ("4 Gi", 4096),
        ("4G", 3815),  # 4e9 bytes (miniwdl: G = 10^9), rounded up
        ("4 GB", 3815),
        ("4096 MB", 3907),  # 4.096e9 bytes
        ("4096 MiB", 4096),
        ("2.5 GiB", 2560),
        ("1 TiB", 1048576),
        ("1048576", 4),  # plain number = bytes; 1 MiB -> Batch minimum 4 MiB
        (4096, 4),  # Int bytes
        (8 * 1024**3, 8192),
        ("100 KiB", 4),
    ],
)
def test_memory_mib(memory: Any, mib: int) -> None:
    assert bp.memory_mib(memory) == mib


@pytest.mark.parametrize("bad", ["lots", "4 XB", "-1", True])
def test_memory_invalid(bad: Any) -> None:
    with pytest.raises(bp.BatchParamError):
        bp.memory_mib(bad)


@pytest.mark.parametrize(
    ("gpu", "count", "atype", "expected"),
    [
        (None, None, None, 0),
        (False, None, None, 0),
        (True, None, None, 1),
        (True, 4, None, 4),
        (None, 2, "nvidia-tesla-t4", 2),
        (None, None, "NVIDIA-A100", 1),
        (None, 2, None, 0),  # a count alone does not ask for a GPU
        (None, 1, "tpu-v3", 0),
        (2, None, None, 2),  # WDL 1.2 hints style gpu: Int
    ],
)
def test_gpu_count(gpu: Any, count: Any, atype: Any, expected: int) -> None:
    assert bp.gpu_count(gpu, count, atype) == expected


def test_gpu_resource_requirement() -> None:
    assert bp.resource_requirements(4, 16384, 2) == [
        {"Type": "VCPU", "Value": "4"},
        {"Type": "MEMORY", "Value": "16384"},
        {"Type": "GPU", "Value": "2"},
    ]


@pytest.mark.parametrize(
    ("gpus", "preemptible", "override", "expected"),
    [
        (0, 0, None, ("cpu", "arn:q/cpu")),
        (0, 3, None, ("spot", "arn:q/spot")),
        (1, 0, None, ("gpu", "arn:q/gpu")),
        (1, 3, None, ("gpu", "arn:q/gpu")),  # GPU wins over preemptible
        (0, 0, "spot", ("spot", "arn:q/spot")),
        (0, 3, "cpu", ("cpu", "arn:q/cpu")),
        (0, 0, "gpu", ("gpu", "arn:q/gpu")),
        (0, 0, "arn:q/spot", ("spot", "arn:q/spot")),
        (
            0,
            0,
            "arn:aws:batch:us-east-1:1:job-queue/mine",
            ("custom", "arn:aws:batch:us-east-1:1:job-queue/mine"),
        ),
    ],
)
def test_select_queue(
    gpus: int, preemptible: int, override: Any, expected: tuple[str, str]
) -> None:
    assert (
        bp.select_queue(QUEUES, gpus=gpus, preemptible=preemptible, override=override) == expected
    )


def test_select_queue_rejects_unknown_name() -> None:
    with pytest.raises(bp.BatchParamError):
        bp.select_queue(QUEUES, gpus=0, preemptible=0, override="fast")


@pytest.mark.parametrize(
    ("kind", "preemptible", "max_retries", "attempts"),
    [
        ("cpu", 0, 0, 1),
        ("cpu", 0, 2, 3),
        ("cpu", 5, 2, 3),  # on-demand ignores preemptible
        ("cpu", 0, 20, 10),  # Batch allows 1..10
        ("gpu", 0, 1, 2),
        ("spot", 3, 0, 3),
        ("spot", 3, 5, 3),  # spot attempts count interruptions only
        ("spot", 15, 0, 10),
    ],
)
def test_retry_attempts(kind: str, preemptible: int, max_retries: int, attempts: int) -> None:
    rs = bp.retry_strategy(kind, preemptible=preemptible, max_retries=max_retries)
    assert rs["Attempts"] == attempts


def test_spot_retry_retries_host_terminations_and_exits_on_anything_else() -> None:
    assert bp.retry_strategy("spot", preemptible=2)["EvaluateOnExit"] == [
        {"OnStatusReason": "Host EC2*", "Action": "RETRY"},
        {"OnReason": "*", "Action": "EXIT"},
    ]


def test_on_demand_retry_names_host_terminations() -> None:
    assert bp.retry_strategy("cpu", max_retries=1)["EvaluateOnExit"] == [
        {"OnStatusReason": "Host EC2*", "Action": "RETRY"}
    ]


@pytest.mark.parametrize(
    ("timeout", "seconds"),
    [
        (None, 7 * 86400),
        (3600, 3600),
        ("90s", 90),
        ("30m", 1800),
        ("2h", 7200),
        ("1d", 86400),
        ("600", 600),
        (5, 60),  # Batch minimum attemptDurationSeconds
        (0, 7 * 86400),  # no timeout -> default
    ],
)
def test_timeout_seconds(timeout: Any, seconds: int) -> None:
    assert bp.timeout_seconds(timeout) == seconds


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 0), ("*", "*"), (1, 1), ([0, 2], [0, 2]), ("3", 3)],
)
def test_parse_return_codes(value: Any, expected: Any) -> None:
    assert bp.parse_return_codes(value) == expected


@pytest.mark.parametrize("bad", ["x", [1, "a"], True, 1.5])
def test_parse_return_codes_invalid(bad: Any) -> None:
    with pytest.raises(bp.BatchParamError):
        bp.parse_return_codes(bad)


@pytest.mark.parametrize(
    ("rc", "codes", "ok"),
    [
        (0, 0, True),
        (1, 0, False),
        (7, "*", True),
        (2, [0, 2], True),
        (1, [0, 2], False),
        (0, 1, False),
    ],
)
def test_returncode_allowed(rc: int, codes: Any, ok: bool) -> None:
    assert bp.returncode_allowed(rc, codes) is ok


@pytest.mark.parametrize(
    ("reason", "host"),
    [
        ("Host EC2 (instance i-0abc) terminated.", True),
        ("Essential container in task exited", False),
        (None, False),
        ("", False),
    ],
)
def test_is_host_termination(reason: Any, host: bool) -> None:
    assert bp.is_host_termination(reason) is host


def test_job_definition_name_is_content_hashed() -> None:
    a = bp.job_definition_body("ubuntu:22.04")
    b = bp.job_definition_body("ubuntu:24.04")
    mount = {"volumes": [{"name": "v"}], "mountPoints": [{"sourceVolume": "v"}]}
    names = {
        bp.job_definition_name(x) for x in (a, b, bp.job_definition_body("ubuntu:22.04", mount))
    }
    assert len(names) == 3
    assert bp.job_definition_name(a) == bp.job_definition_name(
        bp.job_definition_body("ubuntu:22.04")
    )
    name = bp.job_definition_name(a)
    assert name.startswith("wdl2sfn-") and len(name) == len("wdl2sfn-") + 16


class _Defs:
    def __init__(self, existing: list[dict[str, Any]]) -> None:
        self.existing = existing
        self.registered: list[dict[str, Any]] = []
        self.describes = 0

    def describe_job_definitions(self, **kw: Any) -> dict[str, Any]:
        self.describes += 1
        assert kw["status"] == "ACTIVE"
        return {"jobDefinitions": self.existing}

    def register_job_definition(self, **kw: Any) -> dict[str, Any]:
        self.registered.append(kw)
        return {}


def test_ensure_job_definition_registers_when_none_active() -> None:
    client = _Defs([])
    name = bp.ensure_job_definition(client, "img:1")
    assert [r["jobDefinitionName"] for r in client.registered] == [name]
    assert client.registered[0]["containerProperties"]["image"] == "img:1"
    bp.ensure_job_definition(client, "img:1")
    assert client.describes == 1 and len(client.registered) == 1  # memoized


def test_ensure_job_definition_reuses_an_active_one() -> None:
    client = _Defs([{"jobDefinitionName": "x", "status": "ACTIVE"}])
    bp.ensure_job_definition(client, "img:2")
    assert client.registered == []


GIB = 1024**3


@pytest.mark.parametrize(
    ("disks", "expected"),
    [
        (None, {"/": GIB}),  # "Default value: `1 GiB`"
        (10, {"/": 10 * GIB}),  # "Int: Amount disk space to request, in `GiB`"
        ("10", {"/": 10 * GIB}),
        ("12.5 GB", {"/": 12_500_000_000}),
        ("/mnt/outputs 4 GiB", {"/mnt/outputs": 4 * GIB}),
        (["2", "/mnt/outputs 4 GiB"], {"/": 2 * GIB, "/mnt/outputs": 4 * GIB}),
        ("local-disk 100 HDD", {"/": 100 * GIB}),  # Cromwell's, in ported workflows
    ],
)
def test_disk_bytes_reads_each_disk_specification_of_wdl_1_2(disks: object, expected: dict) -> None:
    assert bp.disk_bytes(disks) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("disks", ["lots", "/mnt/a", ["1", "2"], 0, True, "/mnt/a 4 parsecs"])
def test_disk_bytes_refuses_what_is_no_disk_specification(disks: object) -> None:
    with pytest.raises(bp.BatchParamError, match="invalid requirements.disks"):
        bp.disk_bytes(disks)  # type: ignore[arg-type]
