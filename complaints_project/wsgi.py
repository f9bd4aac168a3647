"""WSGI entry point (gunicorn ``complaints_project.wsgi:application``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "complaints_project.settings.dev")
application = get_wsgi_application()
