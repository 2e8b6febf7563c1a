"""Readable, unique state and machine names.

Step Functions caps a state name at 80 characters and wants it unique across the definition.
Every unit (call, scatter, if) gets one label, unique within its machine and at most `LABEL_MAX`
characters, before any state is named; its states are then `label: role` (`call align: run`), and
the room kept for the role means a role is never cut. Long labels lose the middle of a call path
(`call outer.….align`); a long scatter or if keeps its head (`scatter s in `) and loses the middle
of its expression between word boundaries, so no label ends in "…" and the often distinguishing
end of a collection (`….sequence_grouping_with_unmapped`) survives. Scatters read
`scatter s in samples` and, when two would read alike, carry their `file:line` too.

Machine names (`<stack>-<workflow>`, 80 characters) get a short content hash when they would be
cut, so two long workflow names never collapse into one machine.
"""

from __future__ import annotations

import re
from collections import defaultdict

from ..contract import machine_name
from . import ir
from .asl import MAX_STATE_NAME

ROLE_ROOM = 16  # the longest role: ": failed: result" (a scatter's shared failure step, FSx)
LABEL_MAX = MAX_STATE_NAME - ROLE_ROOM
ELLIPSIS = "…"


def shorten(text: str, limit: int) -> str:
    """`text` on one line, at most `limit` characters, cut at a word boundary if need be."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    room = text[: limit - len(ELLIPSIS)]
    cut = max(room.rfind(c) for c in " .,_(")
    if cut >= limit // 2:
        room = room[:cut]
    return room.rstrip(" ,._(") + ELLIPSIS


def shorten_path(prefix: str, path: str, limit: int) -> str:
    """`prefix + a.b.c.d` within `limit`: the middle components go first (`a.….d`, `….d`)."""
    parts = path.split(".")
    candidates = [path]
    if len(parts) > 2:
        candidates.append(".".join([parts[0], ELLIPSIS, parts[-1]]))
    if len(parts) > 1:
        candidates.append(".".join([ELLIPSIS, parts[-1]]))
    for candidate in candidates:
        if len(prefix) + len(candidate) <= limit:
            return prefix + candidate
    return prefix + shorten_middle(candidates[-1], limit - len(prefix))


def shorten_middle(text: str, limit: int) -> str:
    """`text` within `limit`, its middle replaced by "…" between word boundaries, so that both
    the start and the (often distinguishing) end of a long identifier survive."""
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    head, tail = text[: room - room * 2 // 5], text[len(text) - room * 2 // 5 :]
    cut = max(head.rfind(c) for c in "._ ")
    if cut >= len(head) // 2:
        head = head[:cut]
    start = min((i for i in (tail.find(c) for c in "._ ") if i >= 0), default=-1)
    if 0 <= start <= len(tail) // 2:
        tail = tail[start + 1 :]
    return head + ELLIPSIS + tail


def shorten_expression(label: str, limit: int) -> str:
    """A scatter or if label within `limit`: its head (`scatter s in `, `if `) whole, the middle
    of its expression dropped, because two collections often differ only at their end."""
    label = " ".join(label.split())
    if len(label) <= limit:
        return label
    head = re.match(r"(scatter \S+ in |if )", label)
    prefix = head.group(1) if head else ""
    if limit - len(prefix) < 2 * len(ELLIPSIS) + 8:
        return shorten_middle(label, limit)
    return prefix + shorten_middle(label[len(prefix) :], limit - len(prefix))


def fit_label(unit: ir.Unit, label: str, limit: int) -> str:
    """`label` (the unit's full one) within `limit`, shortened the way its kind reads best."""
    if isinstance(unit, ir.CallUnit | ir.SubMachineUnit):
        return shorten_path("call ", label.removeprefix("call "), limit)
    return shorten_expression(label, limit)


def base_label(unit: ir.Unit) -> str:
    """A unit's label before deduplication."""
    return fit_label(unit, unit.label, LABEL_MAX)


PARALLEL_MAX = MAX_STATE_NAME - len(", branch 99: failed: result")  # its branches' owner names


def first_unit(step: ir.Step) -> ir.Unit | None:
    """The first unit a step runs (what a reader sees a branch start with)."""
    if isinstance(step, ir.Seq):
        return first_unit(step.steps[0]) if step.steps else None
    if isinstance(step, ir.Par):
        return first_unit(step.branches[0]) if step.branches else None
    if isinstance(step, ir.Lane):
        return step.items[0].unit if step.items else None
    return step


def compact_label(unit: ir.Unit) -> str:
    """A scatter or if by its place (`scatter i (chip.wdl:1588)`, `if (chip.wdl:1481)`), for
    names that list several units and have no room for their expressions."""
    if isinstance(unit, ir.ScatterUnit):
        variable = unit.label.split(" ")[1] if unit.label.startswith("scatter ") else ""
        return f"scatter {variable} ({_where(unit)})".replace("  ", " ")
    if isinstance(unit, ir.IfUnit):
        return f"if ({_where(unit)})"
    return unit.label


def parallel_label(step: ir.Par) -> str:
    """`in parallel: call a, call b +2`: a Parallel state named by how its branches start, so
    two of them read apart in the console (not `in parallel #2`, `#3`); whole labels, else
    scatters and ifs by their place, else the first one shortened in its middle."""
    units = [u for u in (first_unit(b) for b in step.branches) if u is not None]
    if not units:
        return "in parallel"
    prefix = "in parallel: "
    for heads in ([u.label for u in units], [compact_label(u) for u in units]):
        for shown in range(len(heads), 0, -1):
            rest = f" +{len(heads) - shown}" if shown < len(heads) else ""
            text = prefix + ", ".join(heads[:shown]) + rest
            if len(text) <= PARALLEL_MAX:
                return text
    rest = f" +{len(units) - 1}" if len(units) > 1 else ""
    room = PARALLEL_MAX - len(prefix) - len(rest)
    return prefix + shorten_middle(compact_label(units[0]), room) + rest


def _where(unit: ir.Unit) -> str:
    file = getattr(unit, "file", "")
    line = getattr(unit, "line", 0)
    return f"{file}:{line}" if file else f"line {line}"


def assign_labels(units: list[ir.Unit]) -> None:
    """Give every unit of one machine a unique label of at most LABEL_MAX characters."""
    full = {id(u): u.label for u in units}
    wanted = {id(u): base_label(u) for u in units}
    groups: dict[str, list[ir.Unit]] = defaultdict(list)
    for u in units:
        groups[wanted[id(u)]].append(u)
    taken: set[str] = set()
    for label, members in groups.items():
        if len(members) == 1:
            members[0].label = label
            taken.add(label)
            continue
        for k, u in enumerate(members, 1):
            tag = f" ({_where(u)})" if isinstance(u, ir.ScatterUnit | ir.IfUnit) else f" #{k}"
            name = fit_label(u, full[id(u)], LABEL_MAX - len(tag)) + tag
            if tag.startswith(" (") and len(" ".join(full[id(u)].split())) + len(tag) > LABEL_MAX:
                name = shorten_middle(
                    compact_label(u), LABEL_MAX
                )  # its place, not a cut expression
            if name in taken:
                name = fit_label(u, full[id(u)], LABEL_MAX - len(f" #{k}")) + f" #{k}"
            u.label = name
            taken.add(name)


__all__ = [
    "LABEL_MAX",
    "assign_labels",
    "machine_name",
    "parallel_label",
    "shorten",
    "shorten_middle",
]
