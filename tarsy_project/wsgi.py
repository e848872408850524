"""WSGI entry point for the admin, served by a production WSGI server.

Without SECRET_KEY (and DEBUG off) loading the application fails with one line saying what
to set, rather than a server that answers every request with a 500. gunicorn checks the same
before it starts any worker (deploy/gunicorn.conf.py).
"""

import os

from django.core.wsgi import get_wsgi_application

from tarsy_project.security import require_secret_key

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tarsy_project.settings")

application = get_wsgi_application()
require_secret_key()
