"""The intake API's HTTP around the contract: content negotiation, methods, languages and the
WSGI entry point, all DRF's and Django's own handling, answered in the API's JSON format."""

from __future__ import annotations

import json

import pytest

from tests.test_api import BODY, URL, post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _env(intake_env):
    return intake_env


@pytest.mark.parametrize(("extra", "status", "marker"), [
    ({"HTTP_ACCEPT": "text/html"}, 406, b'"not_acceptable"'),
    ({"HTTP_ACCEPT": "application/json; indent=4"}, 201, b'{\n    "reference"'),
    ({"content_type": "text/plain"}, 415, b'"unsupported_media_type"'),
    ({"content_type": "application/json; charset=latin-1"}, 201, b'"reference"'),
])
def test_media_types_are_negotiated(client, app_key, extra, status, marker):
    _channel, key = app_key
    response = post(client, key, json.dumps(BODY), **extra)  # ASCII: any charset reads it
    assert response.status_code == status and marker in response.content
    assert response["Content-Type"].startswith("application/json")


def test_format_json_in_the_query_is_accepted(client, app_key):
    _channel, key = app_key
    response = client.post(f"{URL}?format=json", json.dumps(BODY),
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 201


def test_options_and_get_on_the_collection(client, app_key):
    _channel, key = app_key
    options = client.options(URL, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert options.status_code == 200 and "POST" in options["Allow"]
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"


def test_error_messages_follow_accept_language(client, app_key):
    _channel, key = app_key
    response = post(client, key, {**BODY, "category": "parcel"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400 and response["Content-Language"] == "zh-hans"
    assert response.json()["detail"] == "投诉内容无效。"


def test_the_schema_documents_the_create_operation(client):
    spec = json.loads(client.get("/api/v1/schema?format=json").content)
    operation = spec["paths"]["/api/v1/complaints"]["post"]
    assert operation["operationId"] == "complaints_create"
    schema = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema.endswith("/ComplaintCreate")


def test_the_wsgi_entry_point_is_django_s_own_handler():
    """Every request, the API's included, runs the one MIDDLEWARE chain."""
    from django.core.handlers.wsgi import WSGIHandler

    from complaints_project import wsgi

    assert type(wsgi.application) is WSGIHandler
