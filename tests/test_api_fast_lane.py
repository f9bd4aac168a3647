"""The intake API's fast lane answers exactly as DRF did; the WSGI entry point gives /api/
its short middleware chain; the plain INSERTs of intake write the rows the ORM would."""

from __future__ import annotations

import io
import json
import sys
from contextlib import contextmanager
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.db import connection, models
from django.db.models import signals
from hypothesis import HealthCheck, given, settings

from cases.models import Case, Customer
from cases.services import rows
from channels import api
from channels.models import ApiKey, Channel
from tests.test_api import BODY, URL, bodies, post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _env(intake_env):
    return intake_env


@pytest.fixture
def two_keys(db):
    """Keys of two channels: the same body creates a case in each."""
    _a, app = ApiKey.issue(Channel.objects.get(code="app"))
    _b, wechat = ApiKey.issue(Channel.objects.get(code="wechat"))
    return app, wechat


@contextmanager
def drf_only():
    """Send every request through DRF's own dispatch (the lane as it was before)."""
    with mock.patch.object(api, "_fast_path_applies", return_value=False):
        yield


def fast_lane_spy():
    return mock.patch.object(api, "fast_create", wraps=api.fast_create)


_SAME_FOR_EVERY_CASE = ("stage", "suggested_tier", "group_complaint")


def assert_same_answer(fast, drf):
    assert fast.status_code == drf.status_code, (fast.content, drf.content)
    for header in ("Content-Type", "Allow", "WWW-Authenticate", "Retry-After"):
        assert fast.get(header) == drf.get(header), header
    if fast.status_code in (200, 201):
        a, b = fast.json(), drf.json()
        assert set(a) == set(b)
        assert {k: a[k] for k in _SAME_FOR_EVERY_CASE} == {k: b[k] for k in _SAME_FOR_EVERY_CASE}
    else:
        assert fast.content == drf.content


def test_the_usual_post_takes_the_fast_lane(client, app_key):
    _channel, key = app_key
    with fast_lane_spy() as spy:
        response = post(client, key, BODY)
    assert response.status_code == 201 and spy.call_count == 1


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_fast_lane_answers_arbitrary_json_exactly_as_drf(client, two_keys, body):
    app, wechat = two_keys
    with fast_lane_spy() as spy:
        fast = post(client, app, body)
    assert spy.call_count == (0 if body == "" else 1)  # an empty body is DRF's to answer
    with drf_only():
        drf = post(client, wechat, body)
    assert_same_answer(fast, drf)


@pytest.mark.parametrize("payload", [
    "null", "[]", '"text"', "{}", '{"customer": null}', '{"customer": "x"}', "{bad",
    '{"description": NaN}', "\ufeff{}",
])
def test_odd_bodies_get_drf_s_answer(client, two_keys, payload):
    app, wechat = two_keys
    fast = post(client, app, payload.encode())
    with drf_only():
        drf = post(client, wechat, payload.encode())
    assert fast.status_code == 400
    assert_same_answer(fast, drf)


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer ", "bearer"])
def test_bad_credentials_get_drf_s_answer(client, app_key, header):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    fast = client.post(URL, json.dumps(BODY), content_type="application/json", **extra)
    with drf_only():
        drf = client.post(URL, json.dumps(BODY), content_type="application/json", **extra)
    assert fast.status_code == 401
    assert_same_answer(fast, drf)


def test_rate_limits_get_drf_s_answer(client, two_keys, settings):
    settings.CHANNELS_RATE_LIMITS = {"api": "1/60"}
    app, wechat = two_keys
    assert post(client, app, BODY).status_code == 201
    with drf_only():
        assert post(client, wechat, BODY).status_code == 201
    fast = post(client, app, {**BODY, "external_id": "2"})
    with drf_only():
        drf = post(client, wechat, {**BODY, "external_id": "2"})
    assert fast.status_code == 429
    assert_same_answer(fast, drf)
    assert fast.json()["detail"].split()[:3] == drf.json()["detail"].split()[:3]


def test_error_messages_follow_accept_language_in_the_fast_lane(client, app_key):
    _channel, key = app_key
    response = post(client, key, {**BODY, "category": "parcel"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400 and response["Content-Language"] == "zh-hans"
    assert response.json()["detail"] == "投诉内容无效。"


@pytest.mark.parametrize("extra, status, marker", [
    ({"HTTP_ACCEPT": "text/html"}, 406, b"not_acceptable"),
    ({"HTTP_ACCEPT": "application/json; indent=4"}, 201, b'{\n    "reference"'),
    ({"content_type": "text/plain"}, 415, b"unsupported_media_type"),
    ({"content_type": "application/json; charset=latin-1"}, 201, b"reference"),
])
def test_unusual_requests_keep_drf_s_handling(client, app_key, extra, status, marker):
    _channel, key = app_key
    with fast_lane_spy() as spy:
        response = post(client, key, json.dumps(BODY), **extra)  # ASCII: any charset reads it
    assert spy.call_count == 0
    assert response.status_code == status and marker in response.content


def test_format_query_parameter_keeps_drf_s_handling(client, app_key):
    _channel, key = app_key
    with fast_lane_spy() as spy:
        response = client.post(f"{URL}?format=json", json.dumps(BODY),
                               content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {key}")
    assert spy.call_count == 0 and response.status_code == 201


def test_options_and_get_on_the_collection_are_drf_s(client, app_key):
    _channel, key = app_key
    assert client.options(URL, HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"


def test_schema_still_documents_the_create_operation(client):
    spec = json.loads(client.get("/api/v1/schema?format=json").content)
    operation = spec["paths"]["/api/v1/complaints"]["post"]
    assert operation["operationId"] == "complaints_create"
    schema = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema.endswith("/ComplaintCreate")


# --- the WSGI entry point ------------------------------------------------------------------------
def wsgi_call(app, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr, "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json", **(headers or {}),
    }
    seen: dict = {}
    # As Django's test client does: the handler's request signals must not close the test
    # database connection (it holds the test's transaction).
    from django.core import signals as request_signals
    from django.db import close_old_connections

    request_signals.request_started.disconnect(close_old_connections)
    request_signals.request_finished.disconnect(close_old_connections)

    def start_response(status, response_headers, exc_info=None):
        seen["status"] = int(status.split()[0])
        seen["headers"] = dict(response_headers)

    try:
        content = b"".join(app(environ, start_response))
    finally:
        request_signals.request_started.connect(close_old_connections)
        request_signals.request_finished.connect(close_old_connections)
    return seen["status"], seen["headers"], content


def session_spy():
    from django.contrib.sessions.middleware import SessionMiddleware

    return mock.patch.object(SessionMiddleware, "process_request", autospec=True,
                             side_effect=SessionMiddleware.process_request)


@pytest.fixture
def wsgi_app():
    from complaints_project import wsgi

    return wsgi.application


def test_api_requests_run_the_short_middleware_chain(wsgi_app, app_key):
    _channel, key = app_key
    with session_spy() as sessions:
        status, headers, content = wsgi_call(
            wsgi_app, "POST", URL, json.dumps(BODY).encode(),
            {"HTTP_AUTHORIZATION": f"Bearer {key}"})
    assert status == 201, content
    assert not sessions.called
    assert "Cookie" not in headers.get("Vary", "")
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Type"] == "application/json"
    assert Case.objects.filter(reference=json.loads(content)["reference"]).exists()


def test_site_requests_keep_the_full_chain(wsgi_app):
    with session_spy() as sessions:
        status, _headers, _content = wsgi_call(wsgi_app, "GET", "/complain/")
    assert status == 200 and sessions.called


def test_the_api_chain_is_the_configured_one(wsgi_app):
    names = [type(m).__name__ for m in _chain(wsgi_app.api)]
    assert "SessionMiddleware" not in names and "CsrfViewMiddleware" not in names
    assert len(django_settings.API_MIDDLEWARE) == len(names)
    assert len(_chain(wsgi_app.site)) == len(django_settings.MIDDLEWARE)


def _chain(handler) -> list:
    found, current = [], handler._middleware_chain
    while hasattr(current, "get_response"):
        found.append(current)
        current = current.get_response
    return found


# --- plain INSERTs -------------------------------------------------------------------------------
@pytest.mark.parametrize("model", rows.WRITTEN_MODELS, ids=lambda m: m.__name__)
def test_models_written_by_plain_inserts_have_no_save_logic_or_signals(model):
    """rows.insert skips save() and the save signals: adding either to these models must be
    a conscious change to cases/services/rows.py, not a silently skipped hook."""
    assert model.save is models.Model.save, model
    assert model.save_base is models.Model.save_base
    for signal in (signals.pre_save, signals.post_save):
        assert not signal.has_listeners(model), (model, signal)


def test_a_plain_insert_writes_the_row_the_orm_writes():
    common = {"name": "王芳", "phone": "13800000001", "email": "", "preferred_channel": "sms",
              "language": "en", "is_key_customer": True}
    by_orm = Customer.objects.create(**common)
    plain = Customer(**common)
    rows.insert(plain)
    assert plain.pk and plain.pk != by_orm.pk and not plain._state.adding
    stored = Customer.objects.values().get(pk=plain.pk)
    expected = Customer.objects.values().get(pk=by_orm.pk)
    for name in ("id", "created_at"):
        stored.pop(name), expected.pop(name)
    assert stored == expected
    assert Customer.objects.get(pk=plain.pk).created_at is not None


@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="prepared statements are PostgreSQL's")
def test_intake_statements_are_prepared_on_postgresql(client, app_key):
    _channel, key = app_key
    for i in range(2):
        assert post(client, key, {**BODY, "external_id": f"p-{i}"}).status_code == 201
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('INSERT INTO "cases_case"' in s for s in prepared), prepared
    assert any('FROM "cases_customer"' in s for s in prepared), prepared


@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="prepared statements are PostgreSQL's")
@pytest.mark.parametrize("enabled", [True, False])
def test_prepared_statements_can_be_turned_off_for_a_pooler(client, app_key, settings,
                                                            monkeypatch, enabled):
    import psycopg

    settings.INTAKE_PREPARED_STATEMENTS = enabled
    asked: list[bool | None] = []
    real = psycopg.Cursor.execute

    def spy(self, query, params=None, **kwargs):
        asked.append(kwargs.get("prepare"))
        return real(self, query, params, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", spy)
    _channel, key = app_key
    assert post(client, key, {**BODY, "external_id": f"np-{enabled}"}).status_code == 201
    assert (True in asked) is enabled


def test_a_retry_stays_a_retry_after_the_fast_lane(client, app_key):
    _channel, key = app_key
    first = post(client, key, BODY)
    again = post(client, key, BODY)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()


def test_a_duplicate_answers_the_earlier_reference(client, app_key):
    _channel, key = app_key
    first = post(client, key, BODY).json()
    second = post(client, key, {**BODY, "external_id": "again-other-id"}).json()
    assert second["duplicate_of"] == first["reference"]
    assert Case.objects.get(reference=second["reference"]).duplicate_of.reference == \
        first["reference"]


def test_fetch_models_reads_a_case_as_the_orm_does():
    """rows.fetch_models (the retry's read of the first case) applies the ORM's converters:
    the same field values on either database, deferred nothing."""
    from tests.factories import CaseFactory, advance

    case = advance(CaseFactory(), "resolved")
    sql = (f"SELECT {rows.columns(Case, *[f.name for f in Case._meta.concrete_fields])}, "
           f"1 + 1 FROM {rows.table(Case)} WHERE {rows.columns(Case, 'id')} = %s")
    [(read, extras)] = rows.fetch_models(Case, sql, [case.pk], extra=1)
    expected = Case.objects.get(pk=case.pk)
    for field in Case._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(expected, field.attname), field.name
    assert extras == (2,) and not read.get_deferred_fields() and not read._state.adding


def test_rows_new_builds_the_instance_the_constructor_builds():
    """rows.new (intake's constructor) against Model(**values): every field, the cached
    foreign-key instance, the state; and it steps aside when a pre_init/post_init receiver
    listens."""
    from django.utils import timezone

    from cases.models import CaseDeadline, CaseTransition, Notice

    customer = Customer.objects.create(name="王芳", phone="13800138000")
    now = timezone.now()
    made = {
        Case: dict(tracking_code="K7Q2M9XD", customer=customer, channel="app", source_id=None,
                   received_at=now, category="delivery", subject="s", description="d",
                   suggested_tier=2, owner=None),
        CaseDeadline: dict(clock="assign", started_at=now, risk_at=now, due_at=now),
        CaseTransition: dict(field="stage", name="receive", source="", target="received",
                             actor=None, note="App", at=now),
        Notice: dict(kind="acknowledgement", channel="sms", recipient="1", language="en",
                     subject="", body="b", context={"a": 1}, idempotency_key="k",
                     created_at=now),
    }
    for model, values in made.items():
        fast, slow = rows.new(model, **values), model(**values)
        for field in model._meta.concrete_fields:
            assert getattr(fast, field.attname) == getattr(slow, field.attname), field.name
        assert fast._state.adding and fast._state.db is None and not fast.get_deferred_fields()
    assert rows.new(Case, **made[Case]).customer is customer
    fast_notice = rows.new(Notice, **made[Notice])
    assert fast_notice.context == {"a": 1}
    assert rows.new(Case, **made[Case]).tracking_code == "K7Q2M9XD"

    seen = []

    def receiver(sender, **kwargs):
        seen.append(sender)

    signals.post_init.connect(receiver, sender=CaseTransition)
    try:
        rows.new(CaseTransition, **made[CaseTransition])
    finally:
        signals.post_init.disconnect(receiver, sender=CaseTransition)
    assert seen == [CaseTransition]
    with pytest.raises(TypeError):
        rows.new(CaseTransition, no_such_field=1)


def test_the_api_docs_page_keeps_the_site_chain(wsgi_app):
    """Only /api/v1/complaints takes the short chain: the docs page renders the site's
    layout, whose language and logout forms need the CSRF cookie the full chain sets."""
    with session_spy() as sessions:
        status, headers, content = wsgi_call(wsgi_app, "GET", "/api/v1/docs")
    assert status == 200 and sessions.called
    assert "csrftoken=" in headers.get("Set-Cookie", ""), headers
