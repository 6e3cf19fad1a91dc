"""Compiled SQL, kept per statement shape, so a hot path does not compile its SQL per call.

`databases` compiles every statement it runs (`query.compile(...)`), which was about 15% of a
request like `/me`. SQLAlchemy's own engine avoids that with its compiled cache: a statement's
cache key names its shape, and a new statement of the same shape reuses the compiled SQL with
its own parameter values (`sqlalchemy.sql.elements.ClauseElement._compile_w_cache`). This does
the same for the two `databases` backends (`core.db`).

Statements whose SQL depends on their values (`IN` lists, literal parameters) get those values
rendered into the kept SQL at each call, as the engine does; statements without a cache key
compile as before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.ddl import DDLElement

# Shapes kept per dialect before the cache starts again (a server runs a few hundred).
MAX_SHAPES = 4096

# (dialect name, shape) -> the compiled statement.
_shapes: dict[tuple[str, Any], SQLCompiler] = {}


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
    compiled = _shapes.get(slot)
    if compiled is None:
        compiled = query.compile(dialect=dialect, cache_key=key)
        if len(_shapes) >= MAX_SHAPES:
            _shapes.clear()
        _shapes[slot] = compiled
    late = bool(compiled.literal_execute_params or compiled.post_compile_params)
    params = compiled.construct_params(
        extracted_parameters=extracted,
        _collected_params=collected or None,
        _no_postcompile=late,
    )
    sql: str = compiled.string
    names: Any = compiled.positiontup
    processors: Any = compiled._bind_processors
    if late:
        # `IN` lists and literal parameters: this call's values rendered into the kept SQL,
        # as SQLAlchemy's engine does at execution (`ExpandedState`).
        expanded = compiled._process_parameters_for_postcompile(params)
        sql, params, names = expanded.statement, expanded.parameters, expanded.positiontup
        # The expanded names' processors, beside the statement's own (the engine's merge).
        processors = {**processors, **expanded.processors}
    args: Any
    if positional:
        args = []
        for name in names or ():
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
    return sql, args, compiled._result_columns, CompilationContext(context)
