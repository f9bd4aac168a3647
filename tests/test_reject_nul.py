"""A NUL character in an admin path, query string (changelist filters, search) or URL-encoded
form is a 400 with a clear message, never a 500 (PostgreSQL refuses NUL in text parameters) and
never a change."""

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


def test_admin_action_post_with_nul_answers_400_and_changes_nothing(client, admin_user):
    case = CaseFactory()
    client.force_login(admin_user)
    response = client.post(
        "/admin/cases/case/", "action=delete_selected&_selected_action=1%00&post=yes",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert Case.objects.filter(pk=case.pk).exists()


def test_nul_outside_the_admin_is_left_to_the_page(client, intake_env):
    """The public pages and the API have their own answers (tests/test_api.py: a JSON 404)."""
    response = client.get("/api/v1/complaints/TS%00-1")
    assert response.status_code != 400 and response["Content-Type"] == "application/json"
