"""The contract package: names the parts share, settings from the environment over a file."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from wdl2sfn import contract
from wdl2sfn.backends.rehearsal.extra import RehearsalNotInstalled, require_rehearse_extra
from wdl2sfn.contract.settings import Settings, load_settings

CONTRACT = Path(contract.__file__).parent


def test_contract_imports_nothing_of_ours() -> None:
    for path in CONTRACT.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1, f"{path.name} imports above the contract"
                assert not (node.module or "").startswith("wdl2sfn"), path.name
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("wdl2sfn") for a in node.names), path.name


def test_placeholders_as_the_design_lists_them() -> None:
    assert contract.PLACEHOLDERS == (
        "InitFunctionArn",
        "PrepareFunctionArn",
        "CollectFunctionArn",
        "EvalFunctionArn",
        "FinalizeFunctionArn",
        "CpuQueueArn",
        "SpotQueueArn",
        "GpuQueueArn",
        "RunnerQueueArn",
        "RunnerJobDefinitionArn",
        "RunBucket",
        "CallMachineArn",
        "FinishMachineArn",
        "StartMachineArn",
    )
    assert contract.ref(contract.RUN_BUCKET) == "${RunBucket}"


def test_machine_names_and_marker() -> None:
    assert contract.machine_name("stack", "hello") == "stack-hello"
    assert len(contract.machine_name("s", "x" * 200)) == contract.MAX_MACHINE_NAME
    assert contract.ALIAS == "live" and contract.BUNDLE_MARKER == "bundle.json"


def test_defaults_match_the_old_readers() -> None:
    s = load_settings({})
    assert (s.store, s.mount_path, s.poll_seconds, s.follow_calls_per_second) == (
        "/mnt/efs/wdl2sfn/runs",
        "/mnt/efs",
        "5",
        "5",
    )
    assert s.run_bucket is None and s.backend == "local" and s.rehearsal_faults == "{}"


def test_environment_over_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "wdl2sfn.cfg"
    cfg.write_text("[wdl2sfn]\npoll_seconds = 2\nstack = from-file\n")
    env = {"WDL2SFN_CFG": str(cfg), "WDL2SFN_STACK": "from-env"}
    s = load_settings(env)
    assert (s.poll_seconds, s.stack) == ("2", "from-env")
    assert Settings.variable("poll_seconds") == "WDL2SFN_POLL_SECONDS"


def test_rehearse_extra_check_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    require_rehearse_extra()  # the dev install has it
    import wdl2sfn.backends.rehearsal.extra as extra

    monkeypatch.setitem(extra.REQUIRED, "no_such_module_for_wdl2sfn", "moto[server]")
    with pytest.raises(RehearsalNotInstalled, match=r"pip install 'wdl2sfn\[rehearse\]'"):
        require_rehearse_extra()
