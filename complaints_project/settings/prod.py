"""Production: PostgreSQL, Redis, secure cookies and headers. `check --deploy` is clean.

Refuses to start (ImproperlyConfigured) with a weak SECRET_KEY or without DATABASE_URL and
CELERY_BROKER_URL, rather than falling back to the embedded SQLite and filesystem broker.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import SECRET_KEY
from .env import env_bool, env_int

DEBUG = False

SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5
if SECRET_KEY.startswith("dev-insecure"):
    raise ImproperlyConfigured("Set SECRET_KEY in the environment for production.")
if (len(SECRET_KEY) < SECRET_KEY_MIN_LENGTH
        or len(set(SECRET_KEY)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS):
    raise ImproperlyConfigured(
        f"SECRET_KEY is too weak for production: use at least {SECRET_KEY_MIN_LENGTH} "
        f"characters with at least {SECRET_KEY_MIN_UNIQUE_CHARACTERS} different ones, e.g. "
        "python -c 'from django.core.management.utils import get_random_secret_key as k; "
        "print(k())'"
    )
for _name, _example in (("DATABASE_URL", "postgres://user:password@host:5432/complaints"),
                        ("CELERY_BROKER_URL", "redis://host:6379/0")):
    if not os.environ.get(_name, "").strip():
        raise ImproperlyConfigured(
            f"Set {_name} in the environment for production (e.g. {_example}); the embedded "
            "SQLite and filesystem broker are for one machine only."
        )

# Webhook payloads leave the network: only to https addresses of public hosts.
WEBHOOK_REQUIRE_HTTPS = True

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
