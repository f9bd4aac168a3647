"""The Celery app. Settings come from Django settings (CELERY_* names, see settings/base.py for
why each reliability option is set); tasks are found in each app's tasks.py; the beat schedule
is static, in settings (CELERY_BEAT_SCHEDULE), and exactly one beat process runs it.

Production: ``celery -A complaints_project worker -Q <queues>`` processes, one group per queue
(notices, sweeps, imports; routes in settings CELERY_TASK_ROUTES, README "Deployment"), plus one
``celery -A complaints_project beat`` against Redis (CELERY_BROKER_URL=redis://...).
Embedded default (no Redis): ``celery -A complaints_project worker --beat`` uses kombu's
filesystem transport under COMPLAINTS_VAR_DIR/broker; the folders are created here.
"""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "complaints_project.settings.dev")

app = Celery("complaints_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _ensure_filesystem_broker_folders() -> None:
    from django.conf import settings

    if not str(getattr(settings, "CELERY_BROKER_URL", "")).startswith("filesystem"):
        return
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


@app.on_after_configure.connect
def _prepare_broker(sender: Celery, **kwargs: object) -> None:
    _ensure_filesystem_broker_folders()
