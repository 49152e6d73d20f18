"""The segment condition language: parse once, evaluate in Python or compile to SQL."""

from services.cdp.segments.condition.evaluate import evaluate
from services.cdp.segments.condition.parser import ConditionError, parse
from services.cdp.segments.condition.sql import Compiled, compile_sql

__all__ = ["Compiled", "ConditionError", "compile_sql", "evaluate", "parse"]
