"""Local Batch job definitions: registrations made by runner jobs in other processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wdl2sfn.backends.local.batch.definitions import JobDefinitions
from wdl2sfn.task_runner.jobdefs import FileJobDefinitions

REQUEST = {
    "jobDefinitionName": "wdl2sfn-abc",
    "type": "container",
    "containerProperties": {"image": "ubuntu", "command": ["true"]},
}


def test_a_definition_registered_by_another_process_is_found_by_name(tmp_path: Path):
    FileJobDefinitions(tmp_path).register_job_definition(**REQUEST)
    found = JobDefinitions(registry_dir=tmp_path).find("wdl2sfn-abc")
    assert found is not None and found["revision"] == 1


def test_a_definition_adopted_by_another_thread_meanwhile_is_still_found(tmp_path: Path):
    """Two shards submit at once: the other one adopts the definition between our lookup and
    our adoption. We must find it, not answer "not found or not ACTIVE"."""
    FileJobDefinitions(tmp_path).register_job_definition(**REQUEST)
    definitions = JobDefinitions(registry_dir=tmp_path)
    assert definitions.registry is not None
    plain_request = definitions.registry.request

    def request_while_another_adopts(name: str) -> dict[str, Any] | None:
        definitions.registry.request = plain_request  # type: ignore[union-attr,method-assign]
        assert definitions.find(name) is not None
        return plain_request(name)

    definitions.registry.request = request_while_another_adopts  # type: ignore[method-assign]
    found = definitions.find("wdl2sfn-abc")
    assert found is not None
    assert [jd["revision"] for jd in definitions.describe()["jobDefinitions"]] == [1]


def test_an_unknown_definition_is_not_found(tmp_path: Path):
    assert JobDefinitions(registry_dir=tmp_path).find("wdl2sfn-nope") is None
