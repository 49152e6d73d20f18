"""VQL: the query shape (pydantic models) shared by the PostgreSQL and Elasticsearch backends."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

Scalar = str | int | float | bool
KeywordValue = Scalar | list[Scalar]

_STRICT = ConfigDict(extra="forbid")


class TextMatch(BaseModel):
    """One text condition: a value searched in one field."""

    model_config = _STRICT
    text_value: str = Field(min_length=1, max_length=1000)
    filter_key: str
    # A plain str so a bad value gets our message naming the three choices, not pydantic's.
    search_type: str
    slop: int = Field(0, ge=0, le=100)
    operator: Literal["and", "or"] = "and"
    fuzzy: bool = False

    @field_validator("search_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in ("exact", "shuffle", "substring"):
            raise ValueError(f"search_type {value!r:.40} is not one of exact, shuffle, substring")
        return value

    @field_validator("operator", mode="before")
    @classmethod
    def _lower_operator(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class TextMatches(BaseModel):
    """Text conditions: OR within a field, AND across fields; must_not excludes any match."""

    model_config = _STRICT
    must: list[TextMatch] = Field(default_factory=list, max_length=50)
    must_not: list[TextMatch] = Field(default_factory=list, max_length=50)


class KeywordMatch(BaseModel):
    """Exact values per field: a list means any of them."""

    model_config = _STRICT
    must: dict[str, KeywordValue] = Field(default_factory=dict, max_length=50)
    must_not: dict[str, KeywordValue] = Field(default_factory=dict, max_length=50)


class Range(BaseModel):
    """Bounds of one range condition; at least one is given."""

    model_config = _STRICT
    gte: int | float | str | None = None
    gt: int | float | str | None = None
    lte: int | float | str | None = None
    lt: int | float | str | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Range:
        if not self.bounds():
            raise ValueError("a range needs at least one of gte, gt, lte, lt")
        return self

    def bounds(self) -> dict[str, int | float | str]:
        """The bounds that are set, by operator name."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class RangeQuery(BaseModel):
    """Range conditions per field."""

    model_config = _STRICT
    must: dict[str, Range] = Field(default_factory=dict, max_length=50)
    must_not: dict[str, Range] = Field(default_factory=dict, max_length=50)


class Where(BaseModel):
    """The three kinds of conditions, all of which must hold."""

    model_config = _STRICT
    text_matches: TextMatches = Field(default_factory=TextMatches)
    keyword_match: KeywordMatch = Field(default_factory=KeywordMatch)
    range_query: RangeQuery = Field(default_factory=RangeQuery)

    def is_empty(self) -> bool:
        """No condition at all: every row matches."""
        t, k, r = self.text_matches, self.keyword_match, self.range_query
        return not (t.must or t.must_not or k.must or k.must_not or r.must or r.must_not)


class OrderBy(BaseModel):
    """One sort key; any direction but desc sorts ascending, as in the reference."""

    model_config = _STRICT
    order_by: str
    order_direction: str = "asc"

    @property
    def descending(self) -> bool:
        """True only for "desc" (any case); everything else is asc."""
        return self.order_direction.strip().lower() == "desc"


class CompanyConfig(BaseModel):
    """For contacts: add the company's columns (prefixed company_) to each row."""

    model_config = _STRICT
    populate: bool = False
    select_columns: list[str] = Field(default_factory=list, max_length=100)


class Vql(BaseModel):
    """A VQL query. `cursor` and `search_after` are the same thing (the doc and code differ)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    where: Where = Field(default_factory=Where)
    order_by: list[OrderBy] = Field(default_factory=list, max_length=10)
    cursor: list[Any] | None = Field(
        None, validation_alias=AliasChoices("cursor", "search_after"), max_length=11)
    select_columns: list[str] | None = Field(None, max_length=200)
    page: int | None = Field(None, ge=0, le=10)
    limit: int | None = Field(None, ge=0)
    company_config: CompanyConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _not_both_cursor_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and "cursor" in data and "search_after" in data:
            raise ValueError("give cursor or search_after, not both (they are the same thing)")
        return data

    def populated_company_columns(self) -> list[str]:
        """Company columns a contact row is to carry, when populate is on."""
        cc = self.company_config
        return list(cc.select_columns) if cc is not None and cc.populate else []
