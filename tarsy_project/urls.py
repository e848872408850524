"""URLs: the Django admin is the operators' window into retention."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "TARSy Ops"
admin.site.site_title = "TARSy Ops"
admin.site.index_title = "Sessions, retention and cleanup runs"
# The index links to the retention overview (retention/overview/).
admin.site.index_template = "admin/retention/index.html"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/retention/overview/", include("retention.overview.urls")),
    path("admin/", admin.site.urls),
]
