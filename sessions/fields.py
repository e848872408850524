"""The column kinds TARSy's tables are made of, as model fields.

TARSy's string columns are unbounded ``varchar`` (``CharField()`` without ``max_length``), its
integers ``bigint``, its timestamps ``timestamptz``, its documents ``jsonb``. Its keys are
strings it generates (UUIDs); ``events.id`` alone is a ``bigint`` identity.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper


def new_id() -> str:
    """A fresh key as TARSy makes them (a UUID in text form)."""
    return str(uuid.uuid4())


class StringKey(models.CharField):
    """A primary key of TARSy's: an unbounded ``varchar`` holding a UUID by default.

    On PostgreSQL the type is spelled ``character varying``, the same type as ``varchar``, so
    that Django adds no ``varchar_pattern_ops`` index beside the key (it does for a type
    spelled ``varchar``): TARSy has none, and nothing here matches ids with ``LIKE``.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("primary_key", True)
        kwargs.setdefault("default", new_id)
        super().__init__(**kwargs)

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        db_type = super().db_type(connection)
        if connection.vendor == "postgresql" and db_type == "varchar":
            return "character varying"
        return db_type


def varchar(*, null: bool = False, **kwargs: Any) -> models.CharField:
    """An unbounded ``varchar``; nullable ones may be left blank."""
    return models.CharField(null=null, blank=null, **kwargs)


def text(*, null: bool = False) -> models.TextField:
    return models.TextField(null=null, blank=null)


def bigint(*, null: bool = False) -> models.BigIntegerField:
    return models.BigIntegerField(null=null, blank=null)


def jsonb(*, null: bool = False, **kwargs: Any) -> models.JSONField:
    return models.JSONField(null=null, blank=null, **kwargs)


def timestamptz(*, null: bool = False, **kwargs: Any) -> models.DateTimeField:
    return models.DateTimeField(null=null, blank=null, **kwargs)


def cascades_with(to: str | type[models.Model], *, related_name: str, null: bool = False) -> Any:
    """A link to a row this one is deleted with, by the database (``ON DELETE CASCADE``).

    Django declares no index for it: each table lists the indexes TARSy has, and those that
    TARSy Ops adds, in its ``Meta.indexes``.
    """
    return models.ForeignKey(
        to,
        on_delete=models.DB_CASCADE,
        related_name=related_name,
        null=null,
        blank=null,
        db_index=False,
    )


def nulled_with(to: str | type[models.Model]) -> Any:
    """A cross-link the database sets to NULL when its target goes (``ON DELETE SET NULL``)."""
    return models.ForeignKey(
        to, on_delete=models.DB_SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
