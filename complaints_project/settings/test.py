"""Test settings: whatever DATABASE_URL and CELERY_BROKER_URL say (SQLite and no broker by
default; CI points them at PostgreSQL and Redis)."""

from .base import *  # noqa: F403
from .env import env_str

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Unit tests run tasks in-process; tests against a real worker switch this off themselves.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# The broker the real-worker tests use (empty: those tests skip with a reason).
TEST_REAL_BROKER_URL = env_str("CELERY_BROKER_URL", "")
if TEST_REAL_BROKER_URL:
    CELERY_BROKER_URL = TEST_REAL_BROKER_URL
LANGUAGE_CODE = "en"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Static files come from the finders in tests (no collectstatic run).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True

AUTH_ROLES_CACHED = True  # one process: its local cache is the only one
