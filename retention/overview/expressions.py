"""Two SQL expressions of the overview's aggregate, native SQL on both backends.

On SQLite, Django computes a datetime's date and the difference of two datetimes with Python
functions called once per row: over a month of sweep records (some 43,000 rows) that alone
takes about a second. These use SQLite's own ``substr`` and ``julianday`` instead, and
PostgreSQL's own date cast and ``EXTRACT(EPOCH ...)``.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, FloatField, Func
from django.db.models.functions import TruncDate
from django.db.models.sql.compiler import SQLCompiler

SQL = tuple[str, list[Any]]


class Day(TruncDate):
    """The date a datetime falls on in the current time zone, as ``TruncDate``.

    SQLite holds a datetime as naive UTC text (``YYYY-MM-DD HH:MM:SS[.ffffff]``), so in UTC its
    date is the first ten characters.
    """

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> SQL:
        if self.get_tzname() != "UTC":
            return super().as_sql(compiler, connection)
        sql, params = compiler.compile(self.lhs)
        return f"substr({sql}, 1, 10)", list(params)


class SecondsBetween(Func):
    """``end - start`` of two datetime fields, in seconds (a float)."""

    output_field = FloatField()

    def __init__(self, start: str, end: str) -> None:
        super().__init__(F(end), F(start))

    def _operands(self, compiler: SQLCompiler) -> tuple[str, str, list[Any]]:
        (end, end_params), (start, start_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        return end, start, [*end_params, *start_params]

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any) -> SQL:
        end, start, params = self._operands(compiler)
        return f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) AS double precision)", params

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> SQL:
        end, start, params = self._operands(compiler)
        return f"((julianday({end}) - julianday({start})) * 86400.0)", params
