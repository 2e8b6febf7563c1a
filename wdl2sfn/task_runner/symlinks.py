"""The symlinks inside a Directory: one rule for collect and for prepare.

A ``Directory`` is handed whole to the next call. Collect checks a task's Directory output, and
prepare places a Directory input in a call folder as a tree of links that a contained task (AWS,
``--container``) sees; a symlink inside either that leads out of the Directory would hand the
next task whatever it points to: the call cache and its sealing key (``_CACHE/.key``), another
run, ``/etc``. So every symlink inside a Directory, file or directory, relative or absolute, must
resolve (every link of a chain followed) to something inside the Directory itself (miniwdl's rule
for files, applied to directory links too), and must not dangle or loop: ``a -> b -> a``, a
directory link to a folder holding it (``d/self -> .``), or directory links that lead into each
other. The walk never follows a link (``os.walk(followlinks=False)``), so no loop can hang it.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass

_SHOWN = 5  # links named in a message at most


@dataclass(frozen=True)
class BadLink:
    """One symlink a Directory may not hold: where it is (relative to the Directory), what it
    says, and why it is refused."""

    link: str
    target: str
    why: str

    def __str__(self) -> str:
        return f"{self.link} -> {self.target} ({self.why})"


def describe(bad: list[BadLink]) -> str:
    """The refused links, for an error message (the first few, and how many more)."""
    shown = ", ".join(str(b) for b in bad[:_SHOWN])
    more = len(bad) - _SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def bad_links(top: str) -> list[BadLink]:
    """Every symlink under ``top`` that resolves outside it, dangles or loops (empty: the tree
    is safe to hand on and to place as a tree of links)."""
    root = os.path.realpath(top)
    bad: list[BadLink] = []
    pairs: list[tuple[str, str, str]] = []  # (real parent, real target, link) of directory links
    for link in _links(top):
        why, real = _why_bad(link, root)
        if why is not None:
            bad.append(BadLink(os.path.relpath(link, top), os.readlink(link), why))
        elif os.path.isdir(real):
            pairs.append((os.path.realpath(os.path.dirname(link)), real, link))
    if bad:
        return bad
    looped = _cycle(pairs)
    if looped is not None:
        why = "a loop: directory links that lead into each other"
        return [BadLink(os.path.relpath(looped, top), os.readlink(looped), why)]
    return []


def _links(top: str) -> Iterator[str]:
    """The symlinks under ``top`` (files and folders), without following any."""
    for dirpath, dirs, files in os.walk(top, followlinks=False):
        for name in sorted(dirs + files):
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                yield path


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _why_bad(link: str, root: str) -> tuple[str | None, str]:
    """Why ``link`` may not be in the Directory whose real path is ``root`` (None: it may),
    and where it resolves."""
    try:
        real = os.path.realpath(link, strict=True)
    except OSError as exn:
        if exn.errno == errno.ELOOP:
            return "a symlink loop", ""
        return "dangling: it points to nothing", ""
    if not _within(real, root):
        return "points outside the Directory", real
    if os.path.isdir(real) and _within(os.path.realpath(os.path.dirname(link)), real):
        return "a symlink loop: it points to a folder that holds it", real
    return None, real


def _cycle(pairs: list[tuple[str, str, str]]) -> str | None:
    """A directory link on a cycle of directory links, if any. Following a link into folder T
    reaches every link located under T; a cycle among those targets is an endless tree."""

    def inside(target: str) -> list[tuple[str, str, str]]:
        return [p for p in pairs if _within(p[0], target)]

    state: dict[str, int] = {}  # target -> 1 on the current path, 2 done
    for start in sorted({p[1] for p in pairs}):
        if state.get(start):
            continue
        state[start] = 1
        stack: list[tuple[str, Iterator[tuple[str, str, str]]]] = [(start, iter(inside(start)))]
        while stack:
            _node, edges = stack[-1]
            nxt = next(edges, None)
            if nxt is None:
                state[stack.pop()[0]] = 2
            elif state.get(nxt[1]) == 1:
                return nxt[2]
            elif not state.get(nxt[1]):
                state[nxt[1]] = 1
                stack.append((nxt[1], iter(inside(nxt[1]))))
    return None


def inside_target(link: str, src_root: str, dst_link: str, dst_root: str) -> str:
    """The relative target for a copy at ``dst_link`` (in the tree ``dst_root``) of ``link``
    (a symlink checked by bad_links to resolve inside ``src_root``): the same place in the copy,
    so the copy never points back at the source nor out of the folder the task sees."""
    real = os.path.realpath(link, strict=True)
    in_tree = os.path.relpath(real, os.path.realpath(src_root))
    return os.path.relpath(os.path.join(dst_root, in_tree), os.path.dirname(dst_link))
