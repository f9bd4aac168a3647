"""Local and embedded default: SQLite, no Redis, DEBUG on unless told otherwise."""

from .base import *  # noqa: F403
from .env import env_bool, env_str

DEBUG = env_bool("DEBUG", True)
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
# Serve static files straight from static/ (no collectstatic needed for a first look).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

AUTH_ROLES_CACHED = True  # one process: its local cache is the only one
