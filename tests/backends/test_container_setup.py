"""A caller's container set-up (the AWS rehearsal's, from a registered job definition) on the
`podman run` command line: its mounts replace the run folder's, its role keys come from a file,
its `user` and `ulimits` apply (docs/rehearsal.md, "Batch jobs in their images")."""

from __future__ import annotations

from pathlib import Path

from wdl2sfn.backends.local.batch import ContainerSetup, LocalBatch
from wdl2sfn.backends.local.batch.ulimits import configured_defaults, with_defaults

JOB = {"jobId": "j", "container": {"image": "img:1", "resourceRequirements": []}}


def argv_with(tmp_path: Path, setup: ContainerSetup) -> list[str]:
    batch = LocalBatch(log_dir=tmp_path, mounts=[tmp_path])
    batch.runtime_exe = "/usr/bin/podman"
    return batch.launch.container_argv(JOB, 1, ["bash", "-c", "true"], ["AWS_BATCH_JOB_ID"], [],
                                       setup)  # fmt: skip


def pairs(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == flag]


def test_the_setups_mounts_replace_the_run_folder(tmp_path):
    setup = ContainerSetup(mounts=(("/srv/fs-1", "/mnt/efs", False), ("/srv/ro", "/ref", True)))
    argv = argv_with(tmp_path, setup)
    assert pairs(argv, "-v") == ["/srv/fs-1:/mnt/efs", "/srv/ro:/ref:ro"]


def test_the_setups_user_env_file_and_ulimits_are_passed(tmp_path):
    setup = ContainerSetup(env_file="/r/specs/job-1.env", user="4321",
                           ulimits=("nofile=512:512",))  # fmt: skip
    argv = argv_with(tmp_path, setup)
    assert pairs(argv, "--env-file") == ["/r/specs/job-1.env"]
    assert pairs(argv, "-e") == ["AWS_BATCH_JOB_ID"]  # values by name only, never on the line
    assert pairs(argv, "--user") == ["4321"]
    assert pairs(argv, "--ulimit")[0] == "nofile=512:512"
    assert argv[-4:] == ["img:1", "bash", "-c", "true"]


def test_podman_gets_its_configured_default_ulimits_for_the_limits_a_definition_leaves_out(
    tmp_path, monkeypatch
):
    conf = tmp_path / "containers.conf"
    conf.write_text('[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=2048:2048"]\n')
    assert configured_defaults([tmp_path / "absent.conf", conf]) == [
        "nofile=1024:1024", "nproc=2048:2048",
    ]  # fmt: skip
    monkeypatch.setattr("wdl2sfn.backends.local.batch.ulimits.CONTAINERS_CONF", (conf,))
    assert with_defaults(["nofile=512:512"], "podman") == ["nofile=512:512", "nproc=2048:2048"]
    assert with_defaults(["nofile=512:512"], "docker") == ["nofile=512:512"]  # docker merges
    assert with_defaults([], "podman") == []  # no --ulimit: podman applies its defaults itself


def test_a_definitions_linux_parameters_become_the_engines_options(tmp_path):
    """LinuxParameters as ECS maps them to docker run: sharedMemorySize -> --shm-size (MiB),
    devices -> --device host:container:perms, initProcessEnabled -> --init, tmpfs -> --tmpfs."""
    from wdl2sfn.backends.rehearsal.linux_params import engine_options

    params = {
        "sharedMemorySize": 256,
        "devices": [{"hostPath": "/dev/fuse", "permissions": ["READ", "WRITE"]}],
        "initProcessEnabled": True,
        "tmpfs": [{"containerPath": "/scratch", "size": 100, "mountOptions": ["noexec"]}],
    }
    argv = argv_with(tmp_path, ContainerSetup(options=tuple(engine_options(params, 512))))
    assert argv[argv.index("img:1") - 4 : argv.index("img:1")] == [
        "--shm-size=256m", "--device=/dev/fuse:/dev/fuse:rw", "--init",
        "--tmpfs=/scratch:size=100m,noexec",
    ]  # fmt: skip
