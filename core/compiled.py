"""Compiled SQL, kept per statement shape, so a hot path does not compile its SQL per call.

`databases` compiles every statement it runs (`query.compile(...)`), which was about 15% of a
request like `/me`. SQLAlchemy's own engine avoids that with its compiled cache: a statement's
cache key names its shape, and a new statement of the same shape reuses the compiled SQL with
its own parameter values (`sqlalchemy.sql.elements.ClauseElement._compile_w_cache`). This does
the same for the two `databases` backends (`core.db`).

Statements whose SQL depends on their values (`IN` lists expanded at execution, literal
parameters) and statements without a cache key compile as before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.ddl import DDLElement

# Shapes kept per dialect before the cache starts again (a server runs a few hundred).
MAX_SHAPES = 4096

# (dialect name, shape) -> the compiled statement, or None for a shape that cannot be reused.
_shapes: dict[tuple[str, Any], SQLCompiler | None] = {}


class CompilationContext:
    """What `databases` builds its records from (its own class of the same name)."""

    def __init__(self, context: Any) -> None:
        self.context = context


def compile_cached(dialect: Dialect, query: Any, *, positional: bool) -> tuple[Any, ...] | None:
    """(SQL, arguments, result columns, context) as `databases` `_compile` answers, from the
    statement's compiled shape; None when the statement must be compiled the usual way."""
    if isinstance(query, DDLElement):
        return None
    key = query._generate_cache_key()
    if key is None:
        return None
    shape, extracted, collected = key
    slot = (dialect.name, shape)
    if slot in _shapes:
        compiled = _shapes[slot]
    else:
        made: SQLCompiler = query.compile(dialect=dialect, cache_key=key)
        reusable = not (made.literal_execute_params or made.post_compile_params)
        compiled = made if reusable else None
        if len(_shapes) >= MAX_SHAPES:
            _shapes.clear()
        _shapes[slot] = compiled
    if compiled is None:
        return None
    params = compiled.construct_params(
        extracted_parameters=extracted, _collected_params=collected or None
    )
    processors: Any = compiled._bind_processors
    args: Any
    if positional:
        args = []
        for name in compiled.positiontup or ():
            value = params[name]
            args.append(processors[name](value) if name in processors else value)
    else:
        args = {
            name: processors[name](value) if name in processors else value
            for name, value in params.items()
        }
    context: Any = dialect.execution_ctx_cls()
    context.dialect = dialect
    context.result_column_struct = (
        compiled._result_columns,
        compiled._ordered_columns,
        compiled._textual_ordered_columns,
        compiled._ad_hoc_textual,
        compiled._loose_column_name_matching,
    )
    return compiled.string, args, compiled._result_columns, CompilationContext(context)
