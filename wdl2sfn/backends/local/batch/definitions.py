"""Job definitions: RegisterJobDefinition, DeregisterJobDefinition, DescribeJobDefinitions as
boto3 shapes them, and the lookup SubmitJob makes (a name's latest ACTIVE revision, name:rev,
or an ARN)."""

from __future__ import annotations

import copy
import re
import threading
from pathlib import Path
from typing import Any

from wdl2sfn.task_runner.jobdefs import FileJobDefinitions

from .api import ARN_PREFIX, NAME_PATTERN, BatchClientError


class JobDefinitions:
    """The registered revisions of each job definition; thread-safe. With a registry_dir,
    definitions registered by runner jobs in other processes are adopted on first use."""

    def __init__(self, registry_dir: Path | None = None) -> None:
        self.registry = FileJobDefinitions(registry_dir) if registry_dir is not None else None
        self._lock = threading.Lock()
        self._revisions: dict[str, list[dict[str, Any]]] = {}

    def register(self, **kwargs: Any) -> dict[str, Any]:
        name = kwargs.get("jobDefinitionName")
        if not name or not re.fullmatch(NAME_PATTERN, str(name)):
            raise BatchClientError(f"invalid jobDefinitionName {name!r}")
        jtype = kwargs.get("type", "container")
        if jtype != "container":
            raise BatchClientError(f"local Batch supports only type 'container', not {jtype!r}")
        with self._lock:
            return self._register_locked(name, jtype, kwargs)

    def _register_locked(self, name: str, jtype: str, request: dict[str, Any]) -> dict[str, Any]:
        revs = self._revisions.setdefault(name, [])
        revision = len(revs) + 1
        arn = f"{ARN_PREFIX}:job-definition/{name}:{revision}"
        revs.append(_definition(name, arn, revision, jtype, request))
        return {"jobDefinitionName": name, "jobDefinitionArn": arn, "revision": revision}

    def deregister(self, **kwargs: Any) -> dict[str, Any]:
        jd = self.find(str(kwargs.get("jobDefinition", "")), active_only=False)
        if jd is None:
            raise BatchClientError(f"job definition {kwargs.get('jobDefinition')!r} not found")
        with self._lock:
            jd["status"] = "INACTIVE"
        return {}

    def describe(self, **kwargs: Any) -> dict[str, Any]:
        status = kwargs.get("status")
        name = kwargs.get("jobDefinitionName")
        wanted = kwargs.get("jobDefinitions")
        with self._lock:
            if wanted:
                found = []
                for ref in wanted:
                    jd = self._find_locked(str(ref), active_only=False, latest=False)
                    if jd is not None:
                        found.extend(jd if isinstance(jd, list) else [jd])
            else:
                found = [jd for revs in self._revisions.values() for jd in revs]
            if name:
                found = [jd for jd in found if jd["jobDefinitionName"] == name]
            if status:
                found = [jd for jd in found if jd["status"] == status]
            return {"jobDefinitions": copy.deepcopy(found)}

    def find(self, ref: str, *, active_only: bool = True) -> dict[str, Any] | None:
        """The definition `ref` names (see _find_locked), or None."""
        with self._lock:
            jd = self._find_locked(ref, active_only=active_only, latest=True)
            assert not isinstance(jd, list)
        if jd is None and self._adopt_shared_registration(ref):
            with self._lock:
                jd = self._find_locked(ref, active_only=active_only, latest=True)
                assert not isinstance(jd, list)
        return jd

    def _adopt_shared_registration(self, ref: str) -> bool:
        """Adopt a definition registered by a runner job in another process (see jobdefs.py).

        True when the name is known afterwards, also when another thread adopted it between
        our lookup and this call: answering False then made SubmitJob fail with "not found"
        for a definition that was there (two shards of one call submitting at once)."""
        if self.registry is None:
            return False
        name = ref.split(":job-definition/", 1)[-1].partition(":")[0]
        with self._lock:
            if name in self._revisions:
                return True
        request = self.registry.request(name)
        if request is None:
            return False
        with self._lock:
            if name not in self._revisions:
                self._register_locked(name, request.get("type", "container"), request)
        return True

    def _find_locked(
        self, ref: str, *, active_only: bool, latest: bool
    ) -> dict[str, Any] | list[dict[str, Any]] | None:
        """name (latest ACTIVE revision), name:revision, or an ARN ending job-definition/name:rev.
        With latest=False, a bare name yields every revision."""
        if ref.startswith("arn:"):
            ref = ref.split(":job-definition/", 1)[-1]
        name, _, rev = ref.partition(":")
        revs = self._revisions.get(name, [])
        if rev:
            if not rev.isdigit() or not 1 <= int(rev) <= len(revs):
                return None
            jd = revs[int(rev) - 1]
            return None if active_only and jd["status"] != "ACTIVE" else jd
        candidates = [jd for jd in revs if jd["status"] == "ACTIVE" or not active_only]
        if not latest:
            return candidates
        active = [jd for jd in revs if jd["status"] == "ACTIVE"]
        return active[-1] if active else None


def _definition(
    name: str, arn: str, revision: int, jtype: str, request: dict[str, Any]
) -> dict[str, Any]:
    """A registered revision as DescribeJobDefinitions returns it."""
    jd: dict[str, Any] = {
        "jobDefinitionName": name,
        "jobDefinitionArn": arn,
        "revision": revision,
        "status": "ACTIVE",
        "type": jtype,
        "parameters": dict(request.get("parameters") or {}),
        "containerProperties": copy.deepcopy(request.get("containerProperties") or {}),
        "tags": dict(request.get("tags") or {}),
        "platformCapabilities": list(request.get("platformCapabilities") or ["EC2"]),
        "containerOrchestrationType": "ECS",
    }
    for key in ("retryStrategy", "timeout", "propagateTags", "schedulingPriority"):
        if key in request:
            jd[key] = copy.deepcopy(request[key])
    return jd
