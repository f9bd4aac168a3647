# The complaint desk's production image: gunicorn (web) and Celery (workers, beat) run from it
# with different commands (compose.yaml, README "Deployment"). Static files are collected at
# build time with the manifest storage (into /app/var/staticfiles, inside the image), so every
# container serves the same hashed names; uploads live on the volume at /var/lib/complaints.
# Gunicorn's process count comes from WEB_CONCURRENCY.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=complaints_project.settings.prod \
    COMPLAINTS_VAR_DIR=/app/var \
    MEDIA_ROOT=/var/lib/complaints/media \
    PRIVATE_MEDIA_ROOT=/var/lib/complaints/private

RUN groupadd --system complaints \
    && useradd --system --gid complaints --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin complaints

WORKDIR /app
# Dependencies first (from pyproject.toml), so a code change does not reinstall them.
COPY pyproject.toml ./
RUN pip install .
COPY . .

# collectstatic reads settings only; these build-time values are thrown away with the layer
# (the real ones come from the environment at run time, see .env.example).
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    DATABASE_URL=postgres://build@127.0.0.1:5432/build \
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \
    python manage.py collectstatic --noinput \
    && mkdir -p /var/lib/complaints/media /var/lib/complaints/private \
    && chown -R complaints:complaints /app/var /var/lib/complaints

USER complaints
EXPOSE 8000
CMD ["gunicorn", "complaints_project.wsgi", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--threads", "2", "--access-logfile", "-"]
