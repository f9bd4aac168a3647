#!/usr/bin/env bash
# Runs the whole application on the embedded default: SQLite, no Redis. The web server and a
# Celery worker with beat (kombu's filesystem broker) run side by side; demo data is loaded on
# first start. Stop with Ctrl-C. PORT (default 8000) and any setting in README can be set.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh ""
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-complaints_project.settings.dev}"
export EMAIL_BACKEND="${EMAIL_BACKEND:-django.core.mail.backends.filebased.EmailBackend}"
mkdir -p var/broker/out var/broker/processed var/outbox-mail
python manage.py migrate --noinput
python manage.py seed_demo --if-empty
python manage.py kpi_summaries
port="${PORT:-8000}"
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://127.0.0.1:$port}"
celery -A complaints_project worker --beat --pool=threads --concurrency=2 \
  -Q notices,sweeps,imports,celery \
  --loglevel=INFO --schedule=var/celerybeat-schedule >var/worker.log 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null || true; wait $worker 2>/dev/null || true' EXIT INT TERM
echo
echo "Complaint desk: http://127.0.0.1:$port/desk/  (logins in README; password demo12345)"
echo "Public form: http://127.0.0.1:$port/complain/   Worker log: var/worker.log   Mail sent: var/outbox-mail/"
echo
python manage.py runserver "127.0.0.1:$port"
