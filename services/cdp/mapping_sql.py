"""The set-based mapping replay: mappings compiled into one map_replay_page statement per page.

It computes what apply_mappings does event by event, when every rule can be folded on its own:
no two rules write the same target or one inside another, and a condition reads only event
fields and profile fields no rule writes. Then each target's new value depends only on its
old value and the rule's values in event order (op 0: the last filled one; op 1: the first
filled one when the target is missing or null; op 2: the old list plus each new item once).
Anything else keeps the Python engine (`refusal` says why).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.cdp.mapping import APPEND, EQUALS, EQUALS_IF_NOT_EXISTS, ByType, MappingIn, Rule
from services.cdp.segments.condition import compile_sql
from services.cdp.segments.condition import tree as t
from services.cdp.store import q

FIXED_PARAMS = 5  # map_replay_page's own: after, upto, since, until, types
MAX_PARAMS = 30_000  # asyncpg (the wire protocol) takes at most 32,767 per statement
SLOTS = {"gates": "e.doc /*gates*/", "values": "e.id /*values*/", "windows": "e0.* /*windows*/",
         "folds": "ARRAY[]::jsonb[] /*folds*/", "skips": "ARRAY[]::bigint[] /*skips*/",
         "finals": "ARRAY[]::jsonb[] /*finals*/",
         "blocked": "ARRAY[]::boolean[] /*blocked*/", "doc": "old /*doc*/"}
SLOT_TYPES = {"folds": "jsonb", "skips": "bigint", "finals": "jsonb",
              "blocked": "boolean"}
# A key that jsonb's #> reads as a list position where Python's lookup wants an object key
# (PostgreSQL parses it with strtol: blanks and a sign allowed).
_INDEX_KEY = re.compile(r"\s*[+-]?[0-9]+")
_PROFILE_DOC = "(SELECT pd.doc FROM cdp_profiles pd WHERE pd.id = e.profile_id)"


@dataclass
class ReplayPlan:
    """map_replay_page with the rules in its slots; `owners[i]`: the mapping of rule i."""

    sql: str
    params: list[Any]
    owners: list[str] = field(default_factory=list)


def _rules(by_type: ByType) -> Iterator[tuple[MappingIn, Rule]]:
    for mappings in by_type.values():
        for m, _ in mappings:
            for r in m.event_to_profile:
                yield m, r


def _plain(path: Sequence[str]) -> bool:
    return not any(_INDEX_KEY.fullmatch(key) for key in path)


def _overlaps(a: Sequence[str], b: Sequence[str]) -> bool:
    n = min(len(a), len(b))
    return tuple(a[:n]) == tuple(b[:n])


def _target_clash(targets: list[tuple[str, ...]]) -> str | None:
    # Sorted, a path is followed by the paths inside it: comparing neighbours finds any overlap.
    ordered = sorted(targets)
    for a, b in itertools.pairwise(ordered):
        if _overlaps(a, b):
            return f"two rules write {'.'.join(a)!r} and {'.'.join(b)!r}"
    return None


def _condition_refusal(m: MappingIn, cond: t.Condition, targets: list[tuple[str, ...]]
                       ) -> str | None:
    for f in t.fields(cond):
        if f.source not in ("event", "profile") or not _plain(f.path):
            return f"mapping {m.mapping_id}: its condition reads {f.source}@{'.'.join(f.path)}"
        if f.source == "profile" and any(_overlaps(f.path, tg) for tg in targets):
            return (f"mapping {m.mapping_id}: its condition reads profile@{'.'.join(f.path)}, "
                    f"which a rule writes")
    return None


def refusal(by_type: ByType) -> str | None:
    """Why these mappings need the Python engine, or None when they compile to SQL."""
    targets = []
    for m, r in _rules(by_type):
        if not (_plain(r.source) and _plain(r.target)):
            return (f"mapping {m.mapping_id}: {r.event.value!r} -> {r.profile.value!r} has a "
                    f"key that reads as a list position")
        targets.append(r.target)
    if (clash := _target_clash(targets)) is not None:
        return clash
    for mappings in by_type.values():
        for m, cond in mappings:
            if cond is not None and (why := _condition_refusal(m, cond, targets)) is not None:
                return why
    return None


class _Builder:
    """Collects the parameters and each slot's expressions, rule by rule."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.params: list[Any] = []
        self.parts: dict[str, list[str]] = {name: [] for name in SLOTS}
        self.owners: list[str] = []

    def param(self, value: Any, cast: str) -> str:
        self.params.append(value)
        return f"${FIXED_PARAMS + len(self.params)}::{cast}"

    def gate(self, event_type: str, cond: t.Condition | None) -> str:
        """Add the test that a mapping applies to the event `e`; the column its rules read.

        A column of its own, so a mapping of k rules tests its condition once per event, not k
        times (the gates' subquery is fenced)."""
        test = f"e.type = {self.param(event_type, 'text')}"
        if cond is not None:
            compiled = compile_sql(cond, {"event": "e.doc", "profile": _PROFILE_DOC}, self.now,
                                   FIXED_PARAMS + len(self.params) + 1)
            self.params.extend(compiled.params)
            test = f"{test} AND {compiled.sql}"
        self.parts["gates"].append(f"COALESCE({test}, false) AS g{len(self.parts['gates']) + 1}")
        return f"e.g{len(self.parts['gates'])}"

    def fold(self, expr: str) -> str:
        """Add a per-profile aggregate; its place in `folds`."""
        self.parts["folds"].append(expr)
        return f"per.folds[{len(self.parts['folds'])}]"

    def rule(self, gate: str, r: Rule, owner: str) -> None:
        """One rule's expression in every slot."""
        self.owners.append(owner)
        i = len(self.owners)
        src, dst = self.param(list(r.source), "text[]"), self.param(list(r.target), "text[]")
        self.parts["values"].append(
            f"CASE WHEN {gate} THEN COALESCE(e.doc #> {src}, 'null'::jsonb) END AS v{i}")
        # okN: the value is taken (decided once per event; the skips count the others)
        taken = "" if r.op != APPEND else f" AND jsonb_typeof(v{i}) <> 'object'"
        self.parts["windows"].append(f"cdp_map_filled(v{i}){taken} AS ok{i}")
        self.parts["skips"].append(f"count(*) FILTER (WHERE NOT ok{i})")
        current = f"COALESCE(p.doc #> {dst}, 'null'::jsonb)"
        if r.op == APPEND:
            self.parts["finals"].append(self.append(i, current, dst))
        else:
            order = "insert_time DESC, id DESC" if r.op == EQUALS else "insert_time, id"
            fold = self.fold(f"(array_agg(v{i} ORDER BY {order}) FILTER (WHERE ok{i}))[1]")
            self.parts["finals"].append(fold if r.op != EQUALS_IF_NOT_EXISTS else (
                f"CASE WHEN {current} = 'null'::jsonb THEN {fold} END"))
        self.parts["doc"].append(dst)
        self.parts["blocked"].append(
            f"(f[{i}] IS NOT NULL AND new #> {dst} IS DISTINCT FROM f[{i}])")

    def append(self, i: int, current: str, dst: str) -> str:
        """Rule i's window and folds as an append; its final value."""
        # Equal values add nothing after the first (rN = 1): the fold is deduplicated,
        # and is the answer when no value is a list and the target has none yet.
        self.parts["windows"].append(
            f"row_number() OVER (PARTITION BY profile_id, v{i} ORDER BY insert_time, id) AS r{i}")
        fold = self.fold(f"jsonb_agg(v{i} ORDER BY insert_time, id) FILTER (WHERE r{i} = 1 "
                         f"AND ok{i})")
        lists = self.fold(f"to_jsonb(bool_or(ok{i} AND jsonb_typeof(v{i}) = 'array'))")
        return (f"CASE WHEN {fold} IS NULL THEN NULL "
                f"WHEN {lists} = 'false'::jsonb AND {current} = 'null'::jsonb THEN {fold} "
                f"ELSE cdp_map_append(p.doc #> {dst}, {fold}) END")

    def sql(self) -> str:
        """map_replay_page with the slots filled."""
        sql = q("map_replay_page")
        for name, slot in SLOTS.items():
            assert sql.count(slot) == 1, f"map_replay_page must hold its {name} slot once"
            if not self.parts[name]:
                continue
            if name == "doc":
                expr = "old"
                for i, dst in enumerate(self.parts["doc"], 1):
                    expr = f"cdp_map_set({expr}, {dst}, f[{i}])"
            elif name in ("gates", "values", "windows"):
                expr = ", ".join([slot.split(" ")[0], *self.parts[name]])
            else:
                expr = f"ARRAY[{', '.join(self.parts[name])}]::{SLOT_TYPES[name]}[]"
            sql = sql.replace(slot, expr, 1)
        return sql


def compile_replay(by_type: ByType, now: datetime) -> ReplayPlan | None:
    """The page statement of these mappings (refusal() must be None); None when too big."""
    b = _Builder(now)
    for event_type, mappings in by_type.items():
        for m, cond in mappings:
            gate = b.gate(event_type, cond)
            for r in m.event_to_profile:
                b.rule(gate, r, m.mapping_id)
    if len(b.params) > MAX_PARAMS:
        return None
    return ReplayPlan(b.sql(), b.params, b.owners)
