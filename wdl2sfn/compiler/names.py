"""Readable, unique state and machine names.

Step Functions caps a state name at 80 characters and wants it unique across the definition.
Every unit (call, scatter, if) gets one label, unique within its machine and at most `LABEL_MAX`
characters, before any state is named; its states are then `label: role` (`call align: run`), and
the room kept for the role means a role is never cut. A long label keeps its head (`call `,
`scatter s in `, `if `) and drops one run of whole words, preferably whole path components, for
an ellipsis (`call outer.….align`, `scatter s in ….sequence_grouping_with_unmapped`): never part
of a word, a call's own name last. When two units' best shortenings read alike, each takes its
best one the other cannot have, so the alias that tells them apart survives
(`call …tumor.CollectRawWgsMetrics`, `call …normal.CollectRawWgsMetrics`) instead of a `#N`
counter. Scatters and ifs that read alike carry their place (`file:line`, after the subworkflow
call they were inlined from).

Machine names (`<stack>-<workflow>`, 80 characters) get a short content hash when they would be
cut, so two long workflow names never collapse into one machine.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from ..contract import machine_name
from . import ir
from .asl import MAX_STATE_NAME

ROLE_ROOM = 16  # the longest role: ": failed: result" (a scatter's shared failure step, FSx)
LABEL_MAX = MAX_STATE_NAME - ROLE_ROOM
ELLIPSIS = "…"


# A word: a run of capitals before a capitalised word (`TSV` in `TSVFile`), a capitalised or
# lower-case run, a run of capitals, a number; anything else is one separator character.
_TOKEN = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|.", re.S)
_SOFT = " _-,"  # separators an ellipsis replaces rather than sits next to


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _strength(tokens: list[str], at: int) -> int:
    """How good a cut before token `at` reads: 3 at a path dot or an end, 2 at another
    separator, 1 between two words of one identifier (`Collect|Readgroup`)."""
    if at <= 0 or at >= len(tokens):
        return 3
    pair = tokens[at - 1] + tokens[at]
    if "." in (tokens[at - 1], tokens[at]):
        return 3
    return 1 if pair.isalnum() else 2


def _join(tokens: list[str], a: int, b: int) -> str:
    """tokens[:a] + "…" + tokens[b:], the separators beside the ellipsis dropped."""
    head = "".join(tokens[:a]).rstrip(_SOFT)
    tail = "".join(tokens[b:]).lstrip(_SOFT)
    return head + ELLIPSIS + tail


def _drops_a_word(tokens: list[str], a: int, b: int) -> bool:
    return any(t.isalnum() for t in tokens[a:b])


def cuts(text: str, limit: int, keep_from: int = 0, every: bool = False) -> list[str]:
    """`text` within `limit` with one run of whole words replaced by "…", best first: cuts at
    path dots, then at other separators, then between the words of an identifier; then those
    keeping the start (a call's outermost alias), and the most kept. Tokens from `keep_from` on (a call's own name) stay whole when they can; with
    `every`, every fitting cut (to tell labels apart), else the longest one per start."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return [text]
    tokens = _tokens(text)
    n = len(tokens)
    found: dict[str, tuple[int, int, bool, int]] = {}
    for last in (keep_from, n):
        for a in range(n):
            best_at: set[int] = set()  # per start, the longest cut of each strength
            for b in range(a + 1, min(last, n) + 1):
                rank = min(_strength(tokens, a), _strength(tokens, b))
                if rank in best_at or not _drops_a_word(tokens, a, b):
                    continue
                name = _join(tokens, a, b)
                if len(name) > limit or name == ELLIPSIS:
                    continue
                ends_open = 0 if b < n else -1  # a name ending in "…" reads worst
                found.setdefault(name, (ends_open, rank, a > 0, len(name)))
                if not every:
                    best_at.add(rank)
        if found:
            break
    return sorted(found, key=lambda k: found[k], reverse=True)


def shorten(text: str, limit: int) -> str:
    """`text` on one line, at most `limit` characters, its end cut after a whole word."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    tokens = _tokens(text)
    for a in range(len(tokens) - 1, 0, -1):
        head = "".join(tokens[:a]).rstrip(_SOFT + ".(")
        if head and len(head) + len(ELLIPSIS) <= limit and _drops_a_word(tokens, a, len(tokens)):
            return head + ELLIPSIS
    return text[: max(0, limit - len(ELLIPSIS))] + ELLIPSIS


def _own_name_start(path: str) -> int:
    """The token where a call path's last component (the call's own name) starts."""
    tokens = _tokens(path)
    dots = [i for i, t in enumerate(tokens) if t == "."]
    return dots[-1] + 1 if dots else 0


def shorten_path(prefix: str, path: str, limit: int) -> str:
    """`prefix + a.b.c.d` within `limit`: whole components of the middle go first
    (`a.….d`, `….d`), the call's own name last, and only ever whole words."""
    return prefix + cuts(path, limit - len(prefix), _own_name_start(path))[0]


def shorten_middle(text: str, limit: int) -> str:
    """`text` within `limit`, whole words of its middle replaced by "…", so that both the start
    and the (often distinguishing) end of a long identifier survive."""
    found = cuts(text, limit)
    return found[0] if found else shorten(text, limit)


_HEAD = re.compile(r"(call |scatter \S+ in |if )")


def label_options(unit: ir.Unit, label: str, limit: int, every: bool = False) -> list[str]:
    """`label` within `limit`, best first: its head (`call `, `scatter s in `, `if `) whole,
    then whole words of the rest; a call keeps its own name."""
    label = " ".join(label.split())
    head = _HEAD.match(label)
    prefix = head.group(1) if head else ""
    body = label[len(prefix) :]
    if limit - len(prefix) < 8:
        prefix, body = "", label
    keep = _own_name_start(body) if isinstance(unit, ir.CallUnit | ir.SubMachineUnit) else 0
    return [prefix + c for c in cuts(body, limit - len(prefix), keep, every)] or [
        shorten(label, limit)
    ]


def fit_label(unit: ir.Unit, label: str, limit: int) -> str:
    """`label` (the unit's full one) within `limit`, shortened the way its kind reads best."""
    return label_options(unit, label, limit)[0]


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


def parallel_labels(step: ir.Par) -> Iterator[str]:
    """Names for a Parallel state by how its branches start, best first: `in parallel: call a,
    call b +2` with whole labels, else scatters and ifs by their place, else the first one
    shortened by whole words; then the same led by each other branch, so that two Parallels
    (one nested in the other's first branch) read apart without a counter."""
    units = [u for u in (first_unit(b) for b in step.branches) if u is not None]
    if not units:
        yield "in parallel"
        return
    for lead in range(len(units)):
        yield from _parallel_names(units[lead:] + units[:lead])


def _parallel_names(units: list[ir.Unit]) -> Iterator[str]:
    prefix = "in parallel: "
    for heads in ([u.label for u in units], [compact_label(u) for u in units]):
        for shown in range(len(heads), 0, -1):
            rest = f" +{len(heads) - shown}" if shown < len(heads) else ""
            text = prefix + ", ".join(heads[:shown]) + rest
            if len(text) <= PARALLEL_MAX:
                yield text
    rest = f" +{len(units) - 1}" if len(units) > 1 else ""
    room = PARALLEL_MAX - len(prefix) - len(rest)
    for label in (units[0].label, compact_label(units[0])):
        for option in label_options(units[0], label, room):
            yield prefix + option + rest


def parallel_label(step: ir.Par) -> str:
    """The first choice of `parallel_labels`."""
    return next(parallel_labels(step))


def _where(unit: ir.Unit) -> str:
    """`file:line`, after the subworkflow call it was inlined from if any (`other2, lib.wdl:27`):
    a subworkflow called twice has its scatters and ifs twice, at one place."""
    file = getattr(unit, "file", "")
    line = getattr(unit, "line", 0)
    place = f"{file}:{line}" if file else f"line {line}"
    ref = getattr(unit, "ref", "")
    calls = [p.removeprefix("call-") for p in ref.split("/")[:-1] if p.startswith("call-")]
    return ", ".join([".".join(calls), place]) if calls else place


def assign_labels(units: list[ir.Unit]) -> None:
    """Give every unit of one machine a unique label of at most LABEL_MAX characters, without
    counters: each takes its best shortening; units whose best ones collide take the best one
    no other of them can have (the alias that differs, say); alike scatters and ifs add their
    place."""
    full = {id(u): _placed(u, units) for u in units}
    wanted = {id(u): fit_label(u, full[id(u)], LABEL_MAX) for u in units}
    groups: dict[str, list[ir.Unit]] = defaultdict(list)
    for u in units:
        groups[wanted[id(u)]].append(u)
    taken = {label for label, members in groups.items() if len(members) == 1}
    for label, members in groups.items():
        if len(members) == 1:
            members[0].label = label
            continue
        pools = {id(u): label_options(u, full[id(u)], LABEL_MAX, every=True) for u in members}
        for u in members:
            others = set().union(*(set(pools[id(v)]) for v in members if v is not u))
            free = [c for c in pools[id(u)] if c not in taken]
            name = next((c for c in free if c not in others), free[0] if free else label)
            u.label = name
            taken.add(name)


def _placed(unit: ir.Unit, units: list[ir.Unit]) -> str:
    """A unit's full label, with its `file:line` when another unit's reads the same (two
    `scatter s in samples`); too long for its expression, a scatter reads its variable and
    place."""
    label = " ".join(unit.label.split())
    if not isinstance(unit, ir.ScatterUnit | ir.IfUnit):
        return label
    if sum(" ".join(u.label.split()) == label for u in units) < 2:
        return label
    tag = f" ({_where(unit)})"
    if len(label) + len(tag) > LABEL_MAX:
        return compact_label(unit)
    return label + tag


__all__ = [
    "LABEL_MAX",
    "assign_labels",
    "machine_name",
    "parallel_label",
    "parallel_labels",
    "shorten",
    "shorten_middle",
]
