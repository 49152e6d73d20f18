"""What the API and the CLI share: saving records with every check, testing a condition."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, ValidationError

from services.cdp.mapping import MappingIn
from services.cdp.mapping_store import MappingStore
from services.cdp.segments.condition import compile_sql
from services.cdp.segments.model import FieldError, SegmentIn, check_condition
from services.cdp.segments.store import SegmentStore
from services.cdp.segments.triggers import JobAction, TriggerIn
from services.cdp.store import q

CONDITION_SLOT = "true /*condition*/"


def _nul_at(value: Any, path: str) -> str | None:
    """The dotted path of the first string holding NUL, which PostgreSQL cannot store."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    items = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ())
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return f"{path}.{key!r}".lstrip(".")
        if (found := _nul_at(item, f"{path}.{key}".lstrip("."))) is not None:
            return found
    return None


def validated(model: type[BaseModel], body: Any) -> Any:
    """`body` as `model`, or FieldError naming the first bad field."""
    if not isinstance(body, dict):
        raise FieldError("body", "send a JSON object")
    if (where := _nul_at(body, "")) is not None:
        raise FieldError(where, "text may not contain NUL (\\u0000)")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "body"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise FieldError(field, msg) from None


async def save_segment(pool: asyncpg.Pool, body: Any, job_types: Collection[str]
                       ) -> asyncpg.Record:
    """Check a segment (its condition, or its workflow job type) and store it."""
    seg: SegmentIn = validated(SegmentIn, body)
    seg.parsed()
    if seg.workflow is not None and seg.workflow not in job_types:
        raise FieldError("workflow", f"{seg.workflow!r} is not a job type of this daemon; add "
                         "its module to SUPERVISOR_JOB_MODULES")
    return await SegmentStore(pool).save(seg)


async def save_trigger(pool: asyncpg.Pool, body: Any, job_types: Collection[str]
                       ) -> asyncpg.Record:
    """Check a trigger rule (its segment exists, its job type is known) and store it."""
    rule: TriggerIn = validated(TriggerIn, body)
    store = SegmentStore(pool)
    if not await store.segment_exists(rule.segment.id):
        raise FieldError("segment.id", f"{rule.segment.id!r} is not a segment; create it first "
                         "(POST /segments or `supervisor segment add`)")
    if isinstance(rule.action, JobAction) and rule.action.job_type not in job_types:
        raise FieldError("action.job_type", f"{rule.action.job_type!r} is not a job type of "
                         "this daemon")
    return await store.save_trigger(rule)


async def save_mapping(pool: asyncpg.Pool, body: Any) -> str:
    """Check a mapping (ops, targets, condition) and store it."""
    m: MappingIn = validated(MappingIn, body)
    m.parsed()
    return await MappingStore(pool).save(m)


async def test_condition(pool: asyncpg.Pool, text: str, limit: int = 20,
                         now: datetime | None = None) -> dict[str, Any]:
    """How many profiles match a condition, and the first `limit` ids; changes nothing."""
    cond = check_condition(text, "condition")
    compiled = compile_sql(cond, {"profile": "doc"}, now or datetime.now(UTC), first_param=2)
    sql = q("seg_test").replace(CONDITION_SLOT, f"({compiled.sql})")
    row = await pool.fetchrow(sql, limit, *compiled.params)
    assert row is not None
    return {"condition": text, "matched": row["matched"], "profiles": list(row["ids"])}
