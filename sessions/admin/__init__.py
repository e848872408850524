"""The operators' window on the session store.

Sessions (``sessions.py``)
    The list shows live *and* soft-deleted sessions (``get_queryset`` starts from
    ``AlertSession.all_objects``), with a "Live / Soft-deleted / All" filter and a "Deleted"
    column. A session's page is read-only and shows how many rows of each child table it owns:
    every table that cascades from ``alert_sessions`` in the database, with a model or not
    (a later TARSy release's memories, scores...). A count of a table TARSy Ops has a model for
    links to that child's list filtered with ``?session=<id>`` (``children.py``).

Holds (``holds.py``)
    "Hold selected sessions" asks until when (a day, or no end) and why on a page of its own;
    "Release the holds" ends them. Both need ``hold_alertsession`` and write a ``LogEntry``
    per session (who, when; why and until when in its message). The list has a "Hold" column
    and a "Held" filter, a session's page its holds; "Session holds" lists every hold, read-only.
    The "retention" filter shows what the next cleanup run would take ("Due for soft-delete at
    the next run", "Due for purge"), by the same rules and tarsy.yaml as the run.

Actions (``actions.py``; POST-only with CSRF, the admin's own machinery)
    "Restore selected sessions" and "Soft-delete selected sessions" need the model's custom
    permissions ``restore_alertsession`` / ``soft_delete_alertsession``; both call
    ``sessions.services.operators`` and write one ``LogEntry`` per changed session. Hard delete
    is for superusers only and replaces both Django's ``delete_selected`` action and the
    per-object delete page: Django's versions collect every child row into memory to list it,
    ours shows counts per child table (``selectors.count_children``) and deletes through
    ``operators.purge_sessions``, letting the database cascade.

Fast on a million sessions
    Every list here uses ``tarsy_project.admin_mixins.FastListMixin`` (no full-table
    ``COUNT(*)``). The session list has no relation columns (no per-row queries), is ordered by
    ``-created_at`` (index ``tarsy_ops_as_created``) and sortable only by that column.
"""

# Importing the modules registers their admin classes.
from sessions.admin import children, holds, sessions  # noqa: F401
