"""Which tables ``migrate`` may touch: in attached mode, none of TARSy's.

In attached mode TARSy's tables belong to TARSy (its own migrations create and change them):
``migrate`` records this app's migrations as applied without running their operations on
TARSy's models, so it never creates, alters or drops anything of TARSy's. Everything else
(Django's own tables, cleanup runs) is migrated as usual, into TARSy Ops' schema.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from tarsy_project.database import ATTACHED


class TarsyTablesRouter:
    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool | None:
        if settings.TARSY_DB_MODE != ATTACHED or model_name is None:
            return None
        from sessions.models import TARSY_MODELS  # models are loaded by the time migrate asks

        if (app_label, model_name) in {
            (m._meta.app_label, m._meta.model_name) for m in TARSY_MODELS
        }:
            return False
        return None
