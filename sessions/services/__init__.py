"""What changes sessions and events: scheduled retention (``retention``), orphan detection
(``orphans``), operator actions (``operators``) and holds (``holds``). Commands, the admin and
the cleanup runner call these; none holds a query of its own."""
