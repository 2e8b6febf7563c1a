"""Admission: a job attempt waits until its VCPU / MEMORY (MiB) / GPU requirements fit in what
is free on this machine. A job that can never fit fails at once (AWS would leave it RUNNABLE
forever, which is never what a laptop user wants), unless the local Batch clamps it to the
machine as miniwdl caps runtime.cpu/memory to the host."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .api import client_exception

ADMISSION_RECHECK_SECONDS = 0.5  # queued jobs also re-check (stop requests, missed wake-ups)


def detect_memory_mib() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024))
    except (ValueError, OSError, AttributeError):
        return 4096


def detect_gpus() -> int:
    exe = shutil.which("nvidia-smi")
    if not exe:
        return 0
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return 0
    if out.returncode != 0:
        return 0
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


def _fmt_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass(frozen=True)
class Need:
    """What one attempt holds while it runs."""

    vcpus: float
    memory: int
    gpus: int

    def describe(self) -> str:
        return f"{_fmt_num(self.vcpus)} VCPU, {self.memory} MiB MEMORY, {self.gpus} GPU"


def parse_need(resources: Mapping[str, str]) -> Need:
    """A job's ResourceRequirements (type -> string value) as a Need; invalid values are the
    ClientException SubmitJob gives."""
    try:
        vcpus = float(resources.get("VCPU", "1"))
    except ValueError:
        raise client_exception(f"SubmitJob: VCPU {resources['VCPU']!r} is not a number") from None
    if not math.isfinite(vcpus) or vcpus <= 0:
        raise client_exception(f"SubmitJob: VCPU must be positive, not {resources['VCPU']!r}")
    ints = {}
    for rtype in ("MEMORY", "GPU"):
        value = resources.get(rtype, "0")
        if not value.isdigit():
            raise client_exception(
                f"SubmitJob: {rtype} must be a whole number written as a string, not {value!r}"
            )
        ints[rtype] = int(value)
    return Need(vcpus=vcpus, memory=ints["MEMORY"], gpus=ints["GPU"])


class Admission:
    """The machine's capacity and what is free of it; thread-safe.

    On the host runtime VCPU and MEMORY only gate admission; they are not enforced on the
    process (no cgroup, no OOM kill). A machine without GPUs admits GPU jobs (they run without
    one, with a warning); a machine with GPUs hands each attempt its own device ids."""

    def __init__(self, cpus: float, memory_mib: int, gpus: int) -> None:
        if cpus <= 0 or memory_mib <= 0 or gpus < 0:
            raise ValueError("cpus and memory_mib must be positive, gpus non-negative")
        self.cpus, self.memory_mib, self.gpus = cpus, memory_mib, gpus
        self._cond = threading.Condition()
        self._free_cpus = cpus
        self._free_mem = memory_mib
        self._free_gpu_ids: list[int] = list(range(gpus))

    def never_fits(self, need: Need) -> str | None:
        """Why `need` can never be admitted here, or None if it can."""
        too_big = (
            need.vcpus > self.cpus + 1e-9
            or need.memory > self.memory_mib
            or (self.gpus > 0 and need.gpus > self.gpus)
        )
        if not too_big:
            return None
        have = Need(self.cpus, self.memory_mib, self.gpus).describe()
        return (
            f"Job requests {need.describe()} but this machine (the local Batch) has {have}: "
            f"it can never run here"
        )

    def clamp(self, need: Need) -> Need:
        """`need` cut down to what this machine has."""
        return Need(
            vcpus=min(need.vcpus, self.cpus),
            memory=min(need.memory, self.memory_mib),
            gpus=min(need.gpus, self.gpus) if self.gpus else need.gpus,
        )

    def acquire(self, need: Need, stopped: Callable[[], str | None]) -> list[int] | None:
        """Wait until `need` fits and take it: the GPU ids assigned, or None if `stopped`
        says the job was stopped while it waited."""
        gpus_needed = need.gpus if self.gpus else 0
        with self._cond:
            while True:
                if stopped():
                    return None
                if (
                    need.vcpus <= self._free_cpus + 1e-9
                    and need.memory <= self._free_mem
                    and gpus_needed <= len(self._free_gpu_ids)
                ):
                    self._free_cpus -= need.vcpus
                    self._free_mem -= need.memory
                    ids = self._free_gpu_ids[:gpus_needed]
                    del self._free_gpu_ids[:gpus_needed]
                    return ids
                self._cond.wait(timeout=ADMISSION_RECHECK_SECONDS)

    def release(self, need: Need, gpu_ids: list[int]) -> None:
        with self._cond:
            self._free_cpus = min(self.cpus, self._free_cpus + need.vcpus)
            self._free_mem = min(self.memory_mib, self._free_mem + need.memory)
            self._free_gpu_ids = sorted(self._free_gpu_ids + gpu_ids)
            # wake a couple of waiters, not all: with hundreds queued, waking every one on each
            # release costs more (GIL hand-offs) than the jobs; the rest re-check periodically
            self._cond.notify(2)

    def wake_all(self) -> None:
        """Every waiting attempt re-checks now (shutdown)."""
        with self._cond:
            self._cond.notify_all()
