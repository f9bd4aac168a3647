#!/usr/bin/env bash
# Runs the whole test suite. With no environment it uses SQLite and skips the tests that need
# a real Redis/Celery worker or Chromium (each says why). DATABASE_URL and CELERY_BROKER_URL
# point it at PostgreSQL and Redis (that is what .ci/run does). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh dev
export DJANGO_SETTINGS_MODULE=complaints_project.settings.test
python manage.py check --fail-level WARNING
python manage.py makemigrations --check --dry-run >/dev/null || {
  echo "Model changes without migrations: run python manage.py makemigrations" >&2; exit 1; }
python -m pytest -rs "$@"
