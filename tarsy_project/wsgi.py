"""WSGI entry point for the admin, served by a production WSGI server."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tarsy_project.settings")

application = get_wsgi_application()
