"""Every ``WDL2SFN_*`` setting in one frozen object: the environment over an optional file.

Settings used to be read with ``os.environ.get`` wherever they were needed, each with its own
default; a typo or a changed default went unnoticed. Here each variable is declared once, with
its default and meaning (docs/settings.md). As miniwdl reads ``MINIWDL__SECTION__KEY`` over its
``miniwdl.cfg``, wdl2sfn reads ``WDL2SFN_<NAME>`` over the file named by ``WDL2SFN_CFG``, else
``~/.config/wdl2sfn.cfg``::

    [wdl2sfn]
    poll_seconds = 2
    stack = my-stack

``load_settings()`` reads both afresh on every call, so a setting changed in ``os.environ`` (the
local backend sets some for its runner jobs; tests patch them) is seen at once. Values stay the
strings the environment gives; each reader converts at the point of use exactly as before, so a
malformed value fails where it always did, not in every command that loads the settings.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from .keys import SHARED_DIR

PREFIX = "WDL2SFN_"
CONFIG_ENV = "WDL2SFN_CFG"
CONFIG_SECTION = "wdl2sfn"
DEFAULT_CONFIG = Path("~/.config/wdl2sfn.cfg")


@dataclass(frozen=True)
class Settings:
    """One field per ``WDL2SFN_<FIELD>`` variable; None where the variable is unset and the
    reader's default depends on context (or unset means off)."""

    # where runs are and how the CLI reaches AWS
    dir: str | None = None  # runs' folder (default: the current directory, as miniwdl)
    shared_dir: str = SHARED_DIR  # the store's shared folders (_CACHE ...), relative to the store
    backend: str = "local"  # --backend default
    stack: str | None = None  # --stack default (else "wdl2sfn")
    container: str = "auto"  # local --container default: auto | host | docker | podman
    poll_seconds: str = "5"  # AWS: seconds between DescribeExecution/DescribeJobs polls
    follow_calls_per_second: str = "5"  # AWS --follow: GetExecutionHistory calls per second
    # the run-time steps' environment (Lambda, runner jobs; set by the CDK app)
    step: str | None = None  # which step a Lambda function runs
    store: str = "/mnt/efs/wdl2sfn/runs"  # the run store's root
    run_bucket: str | None = None  # the stack's run bucket
    filesystem: str | None = None  # efs | fsx
    mount_path: str = "/mnt/efs"  # where the shared file system is mounted
    efs_id: str | None = None
    efs_access_point: str | None = None
    fsx_id: str | None = None
    job_role_arn: str | None = None  # the task jobs' role
    task_scratch: str | None = None  # the instances' scratch volume for TMPDIR
    queue_limits: str | None = None  # JSON {kind: {max_vcpus, max_gpus}}: what prepare refuses
    queues: str | None = None  # JSON {"cpu", "spot", "gpu": job queue ARN}: where tasks run
    runner: str | None = None  # JSON {"queue", "definition"}: the upload job's (finalize)
    cache_key: str | None = None  # the call cache's sealing secret
    default_image: str | None = None  # AWS: the image of tasks naming none (the stack's)
    image_mirror: str | None = None  # AWS: JSON {upstream registry: ECR pull-through prefix URI}
    # the local backend and its runner jobs
    local_job_definitions: str | None = None  # file-backed job definition registry
    callbacks: str | None = None  # "store": answer task tokens through files in the run
    local_batch_faults: str | None = None  # JSON fault plan for the local Batch (tests)
    # the rehearsal
    rehearsal_dir: str = "wdl2sfn_rehearsals"
    rehearsal_faults: str = "{}"  # JSON {"<Action>": N}: the first N such calls fail
    rehearsal_quotas: str | None = None  # JSON {"batch:SubmitJob": [rate, bucket], ...} (tests)
    rehearsal_runnable_seconds: str | None = None  # queues' maxTimeSeconds, shortened (tests)
    synth_cache: str | None = None  # "off", or a folder (default ~/.cache/wdl2sfn/synth)
    # loading WDL
    parser_cache: str | None = None  # "off", or a folder (default ~/.cache/wdl2sfn/parser)

    @staticmethod
    def variable(name: str) -> str:
        """The environment variable of field ``name``."""
        return PREFIX + name.upper()


#: Read by the task wrapper script inside task containers (task/job.py), never by Python: listed
#: so the documentation and the settings name every variable there is.
SHELL_ONLY = ("WDL2SFN_NO_TEE", "WDL2SFN_SHARED_SCRATCH", "WDL2SFN_ATTEMPT_BASE")
#: set by `recover` on a spot job resubmitted on demand: the attempts it made before (task.attempt)
ATTEMPT_BASE = "WDL2SFN_ATTEMPT_BASE"


def config_path(environ: Mapping[str, str]) -> Path | None:
    """The config file: ``$WDL2SFN_CFG``, else ``~/.config/wdl2sfn.cfg``; None without a home."""
    named = environ.get(CONFIG_ENV)
    if named:
        return Path(named).expanduser()
    try:
        return DEFAULT_CONFIG.expanduser()
    except RuntimeError:  # no home directory (a bare container)
        return None


def read_config(path: Path | None) -> dict[str, str]:
    """The ``[wdl2sfn]`` section of the file, lower-case keys; empty when there is none."""
    if path is None or not path.is_file():
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path)
    if not parser.has_section(CONFIG_SECTION):
        return {}
    return {key.lower(): value for key, value in parser.items(CONFIG_SECTION)}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings now: each variable from the environment if it is set there (even empty,
    as ``os.environ.get`` saw it), else from the config file, else its default."""
    env = os.environ if environ is None else environ
    from_file = read_config(config_path(env))
    values: dict[str, str] = {}
    for f in fields(Settings):
        variable = Settings.variable(f.name)
        if variable in env:
            values[f.name] = env[variable]
        elif f.name in from_file:
            values[f.name] = from_file[f.name]
    return Settings(**values)
