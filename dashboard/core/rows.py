"""Model instances from a plain SQL statement, for the reads that run with every page.

Those reads are written as SQL because the ORM took about 0.4 ms of CPU to build and compile each
query. `Model.objects.raw()` turns their rows into instances, but works out again at every call which
column is which field and how the database's values convert (about 80 µs). `rows()` expects the
statement to select `columns(Model)` (every concrete field, or the ones named, in the model's order),
works the converters out once per model and connection, and builds each instance with
`Model.from_db`, as the ORM does: the same values (aware datetimes, booleans, JSON) on SQLite and
PostgreSQL.
"""

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.db.models.sql import Query

# (position in the row, the converters of its value, the column expression they are given)
type Converters = list[tuple[int, list[Any], Any]]


def _fields(model: type[Model], names: Sequence[str] | None) -> list["Field[Any, Any]"]:
    concrete: list[Field[Any, Any]] = list(model._meta.concrete_fields)
    return concrete if names is None else [field for field in concrete if field.attname in names]


def columns(model: type[Model], names: Sequence[str] | None = None) -> str:
    """What a statement for `rows()` selects: the model's columns (or those of the fields named by
    attribute name), in the model's order."""
    return ", ".join(str(field.column) for field in _fields(model, names))


def rows[M: Model](
    model: type[M], sql: str, params: Sequence[Any], names: Sequence[str] | None = None
) -> list[M]:
    """The instances of `model` read by `sql`, which selects `columns(model, names)`."""
    connection = connections[router.db_for_read(model)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    if not fetched:
        return []
    attnames = [field.attname for field in _fields(model, names)]
    converters = _converters(model, None if names is None else tuple(names), connection)
    instances = []
    for row in fetched:
        values = list(row)
        for position, convert, expression in converters:
            value = values[position]
            for converter in convert:
                value = converter(value, expression, connection)
            values[position] = value
        instances.append(model.from_db(connection.alias, attnames, values))
    return instances


@lru_cache(maxsize=256)
def _converters(
    model: type[Model], names: tuple[str, ...] | None, connection: BaseDatabaseWrapper
) -> Converters:
    """The backend's and the fields' converters of each column, as the ORM's compiler finds them."""
    table = model._meta.db_table
    expressions: list[Any] = [field.get_col(table) for field in _fields(model, names)]
    compiler = connection.ops.compiler("SQLCompiler")(Query(model), connection, connection.alias)
    return [
        (position, convert, expression)
        for position, (convert, expression) in compiler.get_converters(expressions).items()
    ]
