"""Issue 13, the call cache: a task that writes into the shared cache cannot poison a result."""

from __future__ import annotations

from pathlib import Path

from .helpers import wdl2sfn

VICTIM = """version 1.0
workflow victim {
  call produce
  output { String s = produce.s  String content = read_string(produce.f) }
}
task produce {
  command <<< echo genuine; printf genuine > out.txt >>>
  output { String s = read_string(stdout())  File f = "out.txt" }
}
"""

# the store root is four levels up from a task's working directory: <root>/<run>/calls/<call>/work
REWRITE_ENTRY = "touch out.txt; find ../../../../.wdl2sfn/_CACHE/call/produce -name '*.json' -exec sed -i s/genuine/poisoned/g {} +"
REWRITE_FILE = (
    "touch out.txt; "
    "for f in ../../../../*/calls/produce/work/out.txt; do "
    'cp -p "$f" ref; chmod u+w "$f"; printf poison! > "$f"; touch -r ref "$f"; done'
)


STEAL_KEY = (
    "cp ../../../../*/calls/produce/call_cache.json ../; echo poisoned; printf poisoned > out.txt"
)


def poisoner(command: str) -> str:
    return f"""version 1.0
workflow poisoner {{ call poison }}
task poison {{
  command <<< {command} >>>
  output {{ String s = read_string(stdout())  File f = "out.txt" }}
}}
"""


def victim_after(tmp_path: Path, command: str):  # type: ignore[no-untyped-def]
    (tmp_path / "victim.wdl").write_text(VICTIM)
    (tmp_path / "poisoner.wdl").write_text(poisoner(command))
    root = str(tmp_path / "runs")
    first = wdl2sfn("run", str(tmp_path / "victim.wdl"), "--dir", root)
    assert first.code == 0, first.stderr
    attack = wdl2sfn("run", str(tmp_path / "poisoner.wdl"), "--dir", root)
    assert attack.code == 0, attack.stderr
    return wdl2sfn("run", str(tmp_path / "victim.wdl"), "--dir", root)


def test_a_cache_entry_rewritten_by_a_task_is_a_miss(tmp_path):
    again = victim_after(tmp_path, REWRITE_ENTRY)
    assert again.code == 0, again.stderr
    assert again.json["outputs"] == {"victim.s": "genuine", "victim.content": "genuine"}
    assert not (again.run_dir / "calls" / "produce" / "cached_from").exists()


def test_an_output_file_rewritten_behind_the_cache_is_a_miss(tmp_path):
    again = victim_after(tmp_path, REWRITE_FILE)
    assert again.code == 0, again.stderr
    assert again.json["outputs"] == {"victim.s": "genuine", "victim.content": "genuine"}
    assert not (again.run_dir / "calls" / "produce" / "cached_from").exists()


def test_a_task_cannot_file_its_outputs_under_another_calls_key(tmp_path):
    again = victim_after(tmp_path, STEAL_KEY)
    assert again.code == 0, again.stderr
    assert again.json["outputs"] == {"victim.s": "genuine", "victim.content": "genuine"}


def test_the_sealing_key_from_the_environment_is_not_given_to_tasks(tmp_path):
    wf = tmp_path / "peek.wdl"
    wf.write_text(
        """version 1.0
workflow peek { call look  output { String seen = look.seen } }
task look {
  command <<< echo "${WDL2SFN_CACHE_KEY:-none}" >>>
  output { String seen = read_string(stdout()) }
}
"""
    )
    env = {"WDL2SFN_CACHE_KEY": "s3cr3t"}
    root = tmp_path / "runs"
    first = wdl2sfn("run", str(wf), "--dir", str(root), env=env)
    again = wdl2sfn("run", str(wf), "--dir", str(root), env=env)
    assert first.code == again.code == 0, first.stderr + again.stderr
    assert first.json["outputs"] == {"peek.seen": "none"}
    assert (again.run_dir / "calls" / "look" / "cached_from").exists()
    assert not (root / ".wdl2sfn" / "_CACHE" / ".key").exists()
