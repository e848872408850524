"""The retention overview: one admin page on what the cleanup sidecar did and has left to do.

``/admin/retention/overview/`` (staff with ``retention.view_cleanuprun``) shows the backlog and
holds the latest successful retention run measured, the last run of each job on each host, the
totals of the last 30 days, and four charts of those days: rows and files cleaned per day by
step, run durations and failures. Each chart is its own ``image/svg+xml`` response drawn on the
server by pygal (``charts.py``), shown with ``<img>``: no script runs, nothing is fetched from
elsewhere, and the page itself needs no inline script or style, so it works offline and under
a strict Content-Security-Policy. Every number is aggregated in SQL (``selectors.py``).

``counts.py`` says which count keys of a run record the page shows, with their labels;
``views.py`` only parses the request and renders; ``urls.py`` is mounted by the project's URLs.
"""
