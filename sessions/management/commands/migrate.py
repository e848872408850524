"""``manage.py migrate``, which in attached mode first creates TARSy Ops' schema.

Django's own command otherwise: this app's migrations of TARSy's tables are recorded without
being run there (``sessions.routers``), every other table goes into TARSy Ops' schema. The
schema is created here and nowhere else (``--check`` and ``--plan`` change nothing), before the
system checks run, which refuse every other command while it is missing.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.commands import migrate

from tarsy_project.database import ATTACHED
from tarsy_project.db.schemas import create_schema


class Command(migrate.Command):
    def handle(self, *args: Any, **options: Any) -> None:
        changes_nothing = options["check_unapplied"] or options["plan"]
        if settings.TARSY_DB_MODE == ATTACHED and not changes_nothing:
            schema = settings.TARSY_OPS_SCHEMA
            if create_schema(schema, using=options["database"]) and options["verbosity"]:
                self.stdout.write(f"Created schema {schema} for TARSy Ops' own tables.")
        super().handle(*args, **options)
