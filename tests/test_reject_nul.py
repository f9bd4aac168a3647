"""A NUL character in a query string, path or URL-encoded form is a 400 with a clear message,
never a 500 (PostgreSQL refuses NUL in text parameters) and never a change."""

from __future__ import annotations

import pytest

from cases.models import Case
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db

MESSAGE = "The request contains a NUL character, which is not allowed."


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/admin/cases/case/", {"stage__exact": "new\x00"}),
        ("/admin/cases/case/", {"q": "TS\x00"}),
        ("/admin/cases/customer/", {"q": "a\x00b"}),
        ("/admin/cases/user/", {"department__id__exact": "\x00"}),
        ("/admin/cases/case/", {"stage\x00": "new"}),
    ],
)
def test_admin_changelist_filters_with_nul_answer_400(client, admin_user, path, query):
    CaseFactory()
    client.force_login(admin_user)
    response = client.get(path, query)
    assert response.status_code == 400
    assert response.content.decode() == MESSAGE


def test_admin_changelist_without_nul_still_filters(client, admin_user):
    CaseFactory()
    client.force_login(admin_user)
    assert client.get("/admin/cases/case/", {"q": "TS"}).status_code == 200


def test_track_with_nul_answers_400(client, intake_env):
    response = client.get("/track/", {"reference": "TS-2026\x00", "code": "1234"})
    assert response.status_code == 400


def test_api_path_with_nul_answers_json_400(client):
    response = client.get("/api/v1/complaints/TS-2026%00")
    assert response.status_code == 400
    assert response.json() == {"detail": MESSAGE}


def test_form_post_with_nul_answers_400_and_creates_nothing(client, intake_env):
    response = client.post(
        "/complain/",
        "name=Li&phone=13912345678&subject=Kettle%00leaks&description=Leaks&website=",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert not Case.objects.exists()
