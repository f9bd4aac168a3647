"""Settings shared by every environment. Everything that differs per machine comes from the
environment (see README's configuration table)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _
from kombu import Queue

from .env import (
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_str,
    postgres_timeouts,
    process_kind,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("COMPLAINTS_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("SECRET_KEY", "dev-insecure-change-me-0123456789-abcdefghijklmnopqrstuvwxyz")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "crispy_forms",
    "crispy_bootstrap5",
    "rest_framework",
    "drf_spectacular",
    "django_htmx",
    "cases",
    "channels",
    "reporting",
    "channels.webhooks",
    "axes",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "complaints_project.middleware.RejectNulInAdminMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cases.middleware.UserPreferencesMiddleware",
    "cases.middleware.AuditActorMiddleware",
    "complaints_project.cache_control.NoStoreForStaffMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "complaints_project.urls"
WSGI_APPLICATION = "complaints_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cases.context_processors.desk",
            ],
        },
    },
]

# PostgreSQL timeouts in milliseconds (0: none). A web request gives up on a locked row within
# DB_LOCK_TIMEOUT_MS ("busy, try again") instead of holding a thread; workers, beat and
# management commands (sweeps, KPI rebuilds) get the background values.
DB_PROCESS_KIND = process_kind()
if DB_PROCESS_KIND == "web":
    DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 15000)
    DB_LOCK_TIMEOUT_MS = env_int("DB_LOCK_TIMEOUT_MS", 2000)
else:
    DB_STATEMENT_TIMEOUT_MS = env_int("DB_BACKGROUND_STATEMENT_TIMEOUT_MS", 0)
    DB_LOCK_TIMEOUT_MS = env_int("DB_BACKGROUND_LOCK_TIMEOUT_MS", 30000)
DATABASES = {
    "default": database_from_url(
        env_str("DATABASE_URL", "sqlite:///db.sqlite3"), BASE_DIR,
        timeouts=postgres_timeouts(DB_STATEMENT_TIMEOUT_MS, DB_LOCK_TIMEOUT_MS),
    ),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "cases.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes' backend first: it refuses a locked-out login before the password is checked.
# Ours reads the user's roles with the user; Django's stays listed so that sessions signed
# in through it before stay valid until they end.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "cases.auth_backend.RoleModelBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "landing"
LOGOUT_REDIRECT_URL = "login"

# Internationalisation: per-user language and time zone (cases.middleware).
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Attachments are served only through an authenticated view, never from a public URL.
PRIVATE_MEDIA_ROOT = Path(env_str("PRIVATE_MEDIA_ROOT", str(VAR_DIR / "private")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Rate limits and the API's key lookups live here: Redis in production, so every web process
# shares them; local memory (per process) in the embedded default.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache",
         "LOCATION": env_str("CACHE_URL"),
         # A Redis that is down costs each call a fraction of a second, not a worker: the
         # callers fall back (channels/throttling.py, channels/api.py, desk_config).
         "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}
        if env_str("CACHE_URL").startswith("redis")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Sessions: with a shared cache, read from it (the database keeps the record), so a poll of
# the live desk does not query the session table; a per-process cache would let a session
# signed out in one process live on in another, so those read the database.
SESSION_ENGINE = (
    "complaints_project.sessions"
    if CACHES["default"]["BACKEND"].endswith("RedisCache")
    else "django.contrib.sessions.backends.db"
)
# The user's roles are kept in the cache (cases.auth_backend) only where every process sees
# the same cache, or where one process serves (dev, tests): a per-process cache of several
# web processes would keep a removed role alive in the others. dev.py and test.py turn it on.
AUTH_ROLES_CACHED = CACHES["default"]["BACKEND"].endswith("RedisCache")

# Email: console by default, a file folder in the embedded run, SMTP in production.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "outbox-mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "complaints@example.com")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Pluggable notice backends (SMS and WeChat); the defaults log what they would send.
COMPLAINTS_SMS_BACKEND = env_str("SMS_BACKEND", "cases.notice_backends.LoggingSmsBackend")
COMPLAINTS_WECHAT_BACKEND = env_str(
    "WECHAT_BACKEND", "cases.notice_backends.LoggingWeChatBackend"
)
# Public base URL used in links sent to customers (survey, tracking).
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
# The department that asks other departments for help when the requesting agent has none on
# record; disputes escalate to its lowest common parent with the department asked.
CUSTOMER_SERVICE_DEPARTMENT_CODE = env_str("CUSTOMER_SERVICE_DEPARTMENT_CODE", "cs")

# IMAP mailbox for email intake (the periodic task does nothing when IMAP_HOST is empty).
IMAP_HOST = env_str("IMAP_HOST")
IMAP_PORT = env_int("IMAP_PORT", 993)
IMAP_USER = env_str("IMAP_USER")
IMAP_PASSWORD = env_str("IMAP_PASSWORD")
IMAP_FOLDER = env_str("IMAP_FOLDER", "INBOX")
IMAP_USE_SSL = env_bool("IMAP_USE_SSL", True)

# Intake channels: rate limits ("requests/seconds" or DRF's "requests/min"; every scope and its
# default is in channels/throttling.py),
# proxies in front of the app (to read the client address from X-Forwarded-For), upload size.
CHANNELS_RATE_LIMITS = {
    "api": env_str("INTAKE_API_RATE", "3000/60"),
    "complain": env_str("INTAKE_FORM_RATE", "10/3600"),
    "track": env_str("INTAKE_TRACK_RATE", "20/600"),
}
CHANNELS_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
CHANNELS_MAX_ATTACHMENT_BYTES = env_int("MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)

# Login throttling (django-axes) on /accounts/login/ and /admin/login/: a username is locked
# after LOGIN_FAILURE_LIMIT failures from anywhere, a client address after
# LOGIN_FAILURE_LIMIT_PER_IP failures for any usernames (higher, so one user's typos do not
# lock colleagues behind the same address), both for LOGIN_COOLOFF_MINUTES. The address is
# read as the intake channels read it (TRUSTED_PROXY_COUNT). Admins unlock in the admin
# (Axes > Access attempts: delete the rows).
AXES_HANDLER = "complaints_project.login_lockout.LoginLockoutHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_LIMIT_PER_IP = env_int("LOGIN_FAILURE_LIMIT_PER_IP", 20)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
# No reset on a successful login: axes would delete every attempt from that address, so anyone
# with an account behind it could wipe another username's count. Counts expire with the cool-off.
AXES_RESET_ON_SUCCESS = False
AXES_CLIENT_IP_CALLABLE = "complaints_project.login_lockout.login_client_ip"
AXES_LOCKOUT_CALLABLE = "complaints_project.login_lockout.lockout_response"

# Content-Security-Policy (django-csp 4), enforced: scripts only from our own static files (no
# inline script or handler anywhere in templates/), styles from static files; style="..."
# attributes (ours and the Django admin's) are allowed, <style> elements are not. Bootstrap's
# CSS draws its icons with data: images. CSP_REPORT_ONLY=true sends the same policy as
# report-only, to try a change on a live site first.
_CSP_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
if env_bool("CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP_POLICY
else:
    CONTENT_SECURITY_POLICY = _CSP_POLICY

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Complaint desk intake API",
    "DESCRIPTION": "Channels (app, social media bridges, call-centre systems) submit complaints.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Celery -----------------------------------------------------------------------------------
# The embedded default needs no Redis: kombu's filesystem transport gives a real worker and beat
# on one machine. A message lost with a killed worker is re-sent by the outbox sweep.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = (
    {
        "data_folder_in": str(VAR_DIR / "broker" / "out"),
        "data_folder_out": str(VAR_DIR / "broker" / "out"),
        "processed_folder": str(VAR_DIR / "broker" / "processed"),
        "control_folder": str(VAR_DIR / "broker" / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    # Redis: a message not acknowledged within the visibility timeout is delivered again. Every
    # countdown we use (notice retry backoff, capped by OUTBOX_BACKOFF_MAX_SECONDS) is shorter,
    # so no task runs twice because it waited; long waits are due-time columns plus sweeps.
    else {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
          # A broker that is down fails a publish within about two seconds (the outbox
          # sweep re-sends the notice) instead of holding the web request.
          "socket_connect_timeout": 1, "socket_timeout": 5}
)
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0,
                                    "interval_step": 0.2, "interval_max": 0.2}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
# Reliability (see cases/services/outbox.py for the full argument):
# - acks_late: a message is acknowledged only after its task ran, so a worker killed mid-task
#   leaves it on the broker (Redis redelivers it after the visibility timeout).
# - reject_on_worker_lost: a task whose child process died is re-queued instead of acked.
#   Both are safe only because every task is idempotent: sending claims the outbox row under a
#   lock with a lease and checks the notice's idempotency key before delivering; sweeps move
#   rows with state-conditional updates.
# - prefetch 1: a worker holds one message at a time, so a slow SMTP or SMS gateway does not
#   sit on a batch of prefetched notices that other workers could be sending.
# - time limits: a hung send is killed (hard limit) well before the outbox lease
#   (OUTBOX_LEASE_SECONDS) expires, so a notice re-claimed after the lease cannot still be in
#   flight elsewhere. Sweeps get longer limits on their own task options.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Queues (README "Deployment"): each group has its own worker processes, so a backlog in one
# never delays another. Sweeps (beat, every minute, with `expires`) must not wait behind
# thousands of notices. The outbox redispatch is a sweep too: it re-sends notices whose message
# was lost, and behind a notice backlog it would wait for (and expire behind) the very backlog
# it repairs. Unrouted tasks land in "celery", which the imports workers also consume.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "cases.tasks.send_notice_task": {"queue": "notices"},
    "channels.webhooks.tasks.send_webhook_task": {"queue": "notices"},
    "cases.tasks.outbox_redispatch_task": {"queue": "sweeps"},
    "cases.tasks.deadline_sweep_task": {"queue": "sweeps"},
    "cases.tasks.revisit_sweep_task": {"queue": "sweeps"},
    "cases.tasks.pause_maximum_sweep_task": {"queue": "sweeps"},
    "cases.tasks.retention_sweep_task": {"queue": "sweeps"},
    "channels.tasks.poll_mailbox_task": {"queue": "imports"},
    "reporting.tasks.kpi_summaries_task": {"queue": "imports"},
    "reporting.tasks.weekly_review_task": {"queue": "imports"},
}
# A worker started without -Q consumes all of these (the embedded default does).
CELERY_TASK_QUEUES = [Queue(name) for name in ("notices", "sweeps", "imports", "celery")]
# One static schedule in code; exactly one beat process (never per-case beat rows).
CELERY_BEAT_SCHEDULE = {
    # A sweep message older than its period is dropped (expires): after an outage the next
    # run catches up, instead of a backlog of identical sweeps running back to back.
    "deadline-sweep": {"task": "cases.tasks.deadline_sweep_task", "schedule": 60.0,
                       "options": {"expires": 55}},
    "revisit-sweep": {"task": "cases.tasks.revisit_sweep_task", "schedule": 60.0,
                      "options": {"expires": 55}},
    "pause-maximum-sweep": {"task": "cases.tasks.pause_maximum_sweep_task", "schedule": 60.0,
                            "options": {"expires": 55}},
    "outbox-redispatch": {"task": "cases.tasks.outbox_redispatch_task", "schedule": 60.0,
                          "options": {"expires": 55}},
    "mailbox-poll": {"task": "channels.tasks.poll_mailbox_task", "schedule": 120.0,
                     "options": {"expires": 115}},
    "kpi-summaries": {"task": "reporting.tasks.kpi_summaries_task", "schedule": 60.0,
                      "options": {"expires": 55}},
    # Personal data past retention (cases.services.retention), at night.
    "retention-sweep": {"task": "cases.tasks.retention_sweep_task",
                        "schedule": crontab(minute=30, hour=2),
                        "options": {"expires": 20 * 3600}},
    "weekly-review": {
        "task": "reporting.tasks.weekly_review_task",
        "schedule": crontab(minute=0, hour=9, day_of_week="mon"),
        # Any time that Monday builds the same review: late after an outage is fine.
        "options": {"expires": 12 * 3600},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Background work: outbox, sweeps, survey (cases/services/outbox.py, sweeps.py, revisits.py)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# A notice claimed for sending and not finished within the lease is presumed abandoned (worker
# killed) and may be claimed again. Must exceed the send task's hard time limit (45 s).
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 120)
# Attempts per notice before it is marked failed (the admin can re-send it), and the
# exponential backoff between attempts: base * 2**(attempt-1), capped, with jitter.
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 6)
OUTBOX_BACKOFF_SECONDS = env_int("OUTBOX_BACKOFF_SECONDS", 30)
OUTBOX_BACKOFF_MAX_SECONDS = env_int("OUTBOX_BACKOFF_MAX_SECONDS", 1800)
# A queued notice whose attempt was due this long ago and has not started was lost on the way
# (broker message dropped, worker killed before claiming): the sweep dispatches it again.
OUTBOX_REDISPATCH_AFTER_SECONDS = env_int("OUTBOX_REDISPATCH_AFTER_SECONDS", 60)
# Outbound webhooks (channels/webhooks/services/delivery.py): the HTTP timeout (connect and
# each read), attempts before a delivery is failed (backoff as the outbox's), and the claim
# lease, which must exceed send_webhook_task's hard time limit (45 s). Production requires
# https.
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8)
WEBHOOK_LEASE_SECONDS = env_int("WEBHOOK_LEASE_SECONDS", 120)
WEBHOOK_REQUIRE_HTTPS = env_bool("WEBHOOK_REQUIRE_HTTPS", False)
# Rows per transaction in the deadline sweep (each batch commits, so locks are short).
DEADLINE_SWEEP_BATCH = env_int("DEADLINE_SWEEP_BATCH", 5000)
# Cases anonymised per transaction by the retention sweep.
RETENTION_SWEEP_BATCH = env_int("RETENTION_SWEEP_BATCH", 500)
# Folder of the file SMS / WeChat backends (the embedded run's "what would be sent").
NOTICE_FILE_PATH = env_str("NOTICE_FILE_PATH", str(VAR_DIR / "outbox-messages"))
# Domain of notice e-mails' deterministic Message-ID (empty: the domain of DEFAULT_FROM_EMAIL).
NOTICE_MESSAGE_ID_DOMAIN = env_str("NOTICE_MESSAGE_ID_DOMAIN", "")
# Satisfaction survey links: signed, single use, valid this long.
SURVEY_TOKEN_MAX_AGE = env_int("SURVEY_TOKEN_MAX_AGE", 14 * 24 * 3600)
