"""The API's idempotency under concurrent retries: one ``external_id`` sent many times at
the same moment is one case, and every answer names it. Needs PostgreSQL: SQLite lets one
writer in at a time and proves nothing."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client

from cases.models import Case, Notice
from channels.models import ApiKey, Channel
from tests.races import at_once
from tests.test_api import BODY, URL

pytestmark = [
    # Serialized rollback: the test needs the channels that the migrations create.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="a race between connections needs PostgreSQL (set DATABASE_URL)"),
]

RETRIES = 50


def test_concurrent_retries_of_one_external_id_are_one_case(intake_env):
    _api_key, key = ApiKey.issue(Channel.objects.get(code="app"))
    body = json.dumps({**BODY, "external_id": "burst-1"})

    def send():
        return Client().post(URL, body, content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {key}")

    responses = at_once(*[send] * RETRIES)

    assert not [r for r in responses if isinstance(r, Exception)], responses
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * (RETRIES - 1) + [201], codes
    case = Case.objects.get()
    assert {r.json()["reference"] for r in responses} == {case.reference}
    assert Notice.objects.filter(case=case).count() == 1
