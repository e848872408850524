"""The overview page and its charts: parse the request, read the selectors, render."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override

from retention.models import CleanupRun
from retention.overview import selectors
from retention.overview.charts import CHARTS, HEIGHT, THEMES, WIDTH, format_seconds, render_chart
from retention.overview.counts import CLEANED
from retention.selectors import latest_runs

PERMISSION = "retention.view_cleanuprun"
# A chart is an image of our own making with no script: its inline <style> is all it needs,
# whatever policy the pages have (also when the SVG is opened on its own in a tab).
CHART_POLICY = {"default-src": [CSP.NONE], "style-src": [CSP.UNSAFE_INLINE]}
# Charts may be reused for a minute, by this browser only (they show data for staff).
CHART_MAX_AGE = 60


def _require_permission(request: HttpRequest) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied


def overview_page(request: HttpRequest) -> HttpResponse:
    """The page: backlog and holds, the last run of each job on each host, 30 days' totals."""
    _require_permission(request)
    activity = selectors.daily_activity(today=timezone.localdate())
    context = {
        **admin.site.each_context(request),
        "title": "Retention overview",
        "opts": CleanupRun._meta,
        "backlog": selectors.latest_backlog(),
        "latest_runs": [(run, format_seconds(run.duration_ms / 1000)) for run in latest_runs()],
        "cleaned_totals": [(count, activity.total(count.job, count.key)) for count in CLEANED],
        "job_totals": [_job_totals(activity, job) for job in activity.jobs],
        "days": len(activity.days),
        "charts": CHARTS.values(),
        "themes": THEMES.keys(),
        "chart_width": WIDTH,
        "chart_height": HEIGHT,
    }
    return render(request, "admin/retention/overview.html", context)


def _job_totals(activity: selectors.Activity, job: str) -> tuple[str, int, int, str]:
    longest = activity.longest(job)
    shown = format_seconds(longest.total_seconds()) if longest is not None else "-"
    return job, activity.total(job, "runs"), activity.total(job, "failed"), shown


@csp_override(CHART_POLICY)
def chart_svg(request: HttpRequest, name: str, theme: str) -> HttpResponse:
    """One chart in one theme, as an SVG image."""
    _require_permission(request)
    if name not in CHARTS or theme not in THEMES:
        raise Http404(f"no chart {name!r} in theme {theme!r}")
    activity = selectors.daily_activity(today=timezone.localdate())
    response = HttpResponse(render_chart(name, activity, theme), content_type="image/svg+xml")
    patch_cache_control(response, private=True, max_age=CHART_MAX_AGE)
    return response
