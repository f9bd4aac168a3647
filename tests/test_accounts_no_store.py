"""Cache-Control: no-store on every staff page and on public pages with personal data."""

from __future__ import annotations

import pytest

from cases.choices import Stage
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def _no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.mark.parametrize("path", [
    "/desk/", "/desk/cases/", "/desk/case/", "/board/", "/reports/", "/reports/actions/",
    "/reports/export/kpis.csv", "/reports/export/cases.csv",
])
def test_every_staff_page_is_no_store(client, supervisor, path):
    case = CaseFactory(stage=Stage.TRIAGED)
    path = path.replace("/desk/case/", f"/desk/cases/{case.pk}/")
    client.force_login(supervisor)
    response = client.get(path)
    assert response.status_code == 200, path
    assert _no_store(response)


def test_the_admin_is_no_store(client, admin_user):
    client.force_login(admin_user)
    for path in ("/admin/", "/admin/cases/case/", "/admin/cases/customer/"):
        response = client.get(path)
        assert response.status_code == 200 and _no_store(response), path


def test_an_error_page_for_a_signed_in_user_is_no_store_too(client, frontline):
    client.force_login(frontline)
    response = client.get("/desk/cases/999999/")
    assert response.status_code == 404 and _no_store(response)


def test_a_public_page_without_personal_data_is_not_marked(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200 and not _no_store(response)


def test_the_same_public_page_is_no_store_for_a_signed_in_user(client, frontline):
    client.force_login(frontline)
    assert _no_store(client.get("/api/v1/docs"))


def test_the_track_page_is_no_store(client):
    case = CaseFactory(stage=Stage.TRIAGED)
    assert _no_store(client.get("/track/"))
    response = client.post("/track/", {"reference": case.reference, "code": "wrong"})
    assert _no_store(response)
