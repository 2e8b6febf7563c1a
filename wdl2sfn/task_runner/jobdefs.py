"""A file-backed stand-in for Batch's job-definition API, for runner jobs on this machine.

In `--filesystem fsx` mode the run-time steps run as (local) Batch jobs in their own processes;
prepare must still register content-hashed job definitions with "Batch". Locally that Batch lives
in the parent process, so registrations go through a folder both sides read
(WDL2SFN_LOCAL_JOB_DEFINITIONS). Same method names and shapes as boto3's batch client.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .atomic import write_json_atomic


class FileJobDefinitions:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def register_job_definition(self, **kwargs: Any) -> dict[str, Any]:
        name = str(kwargs["jobDefinitionName"])
        self.folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.folder / f"{name}.json", kwargs)
        return {"jobDefinitionName": name, "jobDefinitionArn": name, "revision": 1}

    def describe_job_definitions(self, **kwargs: Any) -> dict[str, Any]:
        request = self.request(str(kwargs.get("jobDefinitionName", "")))
        if request is None:
            return {"jobDefinitions": []}
        return {"jobDefinitions": [{**request, "revision": 1, "status": "ACTIVE"}]}

    def request(self, name: str) -> dict[str, Any] | None:
        """The registration request saved for `name`, if any."""
        path = self.folder / f"{name}.json"
        if not name or not path.is_file():
            return None
        return dict(json.loads(path.read_text()))
