"""WSGI entry point. Requests under ``/api/`` take a shorter middleware chain
(``settings.API_MIDDLEWARE``): the intake API authenticates with channel keys and keeps no
session, so session, authentication, CSRF, message and static-file middleware only cost it
time. Everything else gets the full ``settings.MIDDLEWARE``. Both handlers share the URLconf
and Django's request signals (connections are closed and caches released the same way)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "complaints_project.settings.dev")
site_application = get_wsgi_application()

from complaints_project.api_handler import ApiPathDispatcher, ApiWSGIHandler  # noqa: E402

application = ApiPathDispatcher(site=site_application, api=ApiWSGIHandler())
