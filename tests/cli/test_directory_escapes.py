"""Nothing escapes a run through the symlinks inside a `Directory` output (issue 24, B1/B2).

A task's `Directory` output is handed to the next call: collect must refuse one holding a symlink
(file or directory, relative or absolute) that resolves out of it, or a loop, and prepare must
never follow a link out of the tree it places in a call folder. The escapes are tried with
`run --container docker` (the stand-in client of tests/cli/test_container_isolation.py, where the
task sees only its run folder), where a link out of the Directory is the only way out."""

from __future__ import annotations

import os
from pathlib import Path

from ..integration.helpers import Result, wdl2sfn
from .test_container_isolation import other_fs, run_in_fake_docker

__all__ = ["other_fs"]  # the fixture, used by the tests below

# make writes a Directory `d` with the links given, read lists it and cats what it is told to
ESCAPE = """version development
task make {
  input {
    String links
  }
  command <<<
    mkdir -p d/sub
    echo inside > d/own.txt
    ~{links}
  >>>
  output {
    Directory o = "d"
  }
}
task read {
  input {
    Directory d
    String path
  }
  command <<<
    cat ~{d}/~{path} > seen || true
    find -L ~{d} -maxdepth 3 | sort > listing || true
  >>>
  output {
    String seen = read_string("seen")
    Array[String] listing = read_lines("listing")
  }
}
workflow w {
  input {
    String links
    String path
  }
  call make { input: links = links }
  call read { input: d = make.o, path = path }
}
"""

UP = "../../../../.."  # from <root>/<run>/calls/make/work/d to the store root


def _run(tmp_path: Path, other: Path, links: str, path: str, *, container: bool = True) -> Result:
    wdl = tmp_path / "escape.wdl"
    wdl.write_text(ESCAPE)
    args = (str(wdl), f"links={links}", f"path={path}", "--dir", str(tmp_path / "store"))
    if container:
        return run_in_fake_docker(tmp_path, other, *args)[0]
    return wdl2sfn("run", *args)


def _refused(out: Result, store: Path, link: str, what: str) -> None:
    """The run failed in make's collect, naming the output and the link; read never ran."""
    assert out.code != 0, out.stdout
    assert "output o" in out.stderr and link in out.stderr and what in out.stderr, out.stderr
    assert "internal error" not in out.stderr, out.stderr
    assert not list(store.glob("*/calls/read*")), "the downstream call was prepared"


def test_a_directory_link_to_the_cache_does_not_hand_its_key_downstream(tmp_path, other_fs):
    """B1: `ln -s ../../../../../_CACHE d/cache` in a Directory output; the next call's prepare
    used to hard-link `_CACHE/.key` into its call folder for a contained task to read."""
    out = _run(tmp_path, other_fs, f"ln -s {UP}/.wdl2sfn/_CACHE d/cache", "cache/.key")
    key = tmp_path / "store" / ".wdl2sfn" / "_CACHE" / ".key"
    if key.exists():
        inode = key.stat().st_ino
        leaked = [p for p in (tmp_path / "store").rglob("*") if p.stat().st_ino == inode]
        assert leaked == [key], leaked
    _refused(out, tmp_path / "store", "cache", "outside")


def test_a_relative_directory_link_to_another_run_is_refused(tmp_path, other_fs):
    """B1: `ln -s ../../../../../<other run> d/otherrun`: another run's files stay its own."""
    secret = tmp_path / "secret.wdl"
    secret.write_text(
        "version 1.0\ntask s {\n  command <<< echo run-secret > secret.txt >>>\n"
        '  output { File f = "secret.txt" }\n}\n'
    )
    first = wdl2sfn("run", str(secret), "--dir", str(tmp_path / "store"))
    assert first.code == 0, first.stderr
    other = first.run_dir.name
    out = _run(
        tmp_path, other_fs, f"ln -s {UP}/{other} d/otherrun", "otherrun/calls/s/work/secret.txt"
    )
    assert "run-secret" not in out.stdout
    _refused(out, tmp_path / "store", "otherrun", "outside")


def test_an_absolute_link_to_etc_is_refused(tmp_path, other_fs):
    """B2. docs/security.md: "a `Directory` output may not hold a symlink (file or directory,
    relative or absolute) that resolves out of it"; `ln -s /etc d/etc` used to pass and the
    next task read `d/etc/passwd`."""
    out = _run(tmp_path, other_fs, "ln -s /etc d/etc", "etc/passwd", container=False)
    assert "root:" not in out.stdout
    _refused(out, tmp_path / "store", "etc", "outside")


def test_a_file_link_pointing_out_is_still_refused(tmp_path, other_fs):
    """The rule that held before: a file symlink out of the Directory (here ../../command)."""
    out = _run(tmp_path, other_fs, "ln -s ../../command d/cmd", "cmd", container=False)
    _refused(out, tmp_path / "store", "cmd", "outside")


def test_a_symlink_loop_is_refused_clearly_without_leftovers(tmp_path, other_fs):
    """A loop (`d/self -> .`, or `a -> b -> a`) never hangs a step nor leaves a half-copied
    tree: collect names the output and the loop."""
    out = _run(
        tmp_path, other_fs, "ln -s . d/sub/self; ln -s b d/a; ln -s a d/b", "own.txt",
        container=False,
    )  # fmt: skip
    _refused(out, tmp_path / "store", "self", "loop")
    assert not list((tmp_path / "store").rglob(".tmp-*")), "a half-copied tree was left"


def test_links_that_stay_inside_the_directory_still_work(tmp_path, other_fs):
    """A legitimate Directory with relative file and directory links inside it: the next task,
    in a container, sees the files through the links."""
    links = "echo deep > d/sub/f.txt; ln -s sub d/alias; ln -s ../own.txt d/sub/up.txt"
    out = _run(tmp_path, other_fs, links, "alias/up.txt")
    assert out.code == 0, out.stderr
    outputs = out.json["outputs"]
    assert outputs["w.read.seen"] == "inside"
    names = {os.path.relpath(p, os.path.commonpath(outputs["w.read.listing"])) for p in
             outputs["w.read.listing"]}  # fmt: skip
    assert {"alias/f.txt", "sub/up.txt", "own.txt"} <= names, names
