"""The overview's URLs, mounted under ``admin/retention/overview/`` by the project's URLs.

Both views go through ``admin.site.admin_view``: active staff only, others are sent to the
admin's login page.
"""

from django.contrib import admin
from django.urls import path

from retention.overview import views

app_name = "retention_overview"

urlpatterns = [
    path("", admin.site.admin_view(views.overview_page), name="page"),
    path(
        "charts/<slug:name>.<slug:theme>.svg",
        admin.site.admin_view(views.chart_svg, cacheable=True),
        name="chart",
    ),
]
