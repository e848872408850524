"""What changes sessions and events: scheduled retention (``retention``) and operator actions
(``operators``). Commands, the admin and the cleanup runner call these; none holds a query of
its own."""
