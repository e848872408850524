"""URLs: the Django admin is the operators' window into retention."""

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "TARSy Ops"
admin.site.site_title = "TARSy Ops"
admin.site.index_title = "Sessions, retention and cleanup runs"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
]
