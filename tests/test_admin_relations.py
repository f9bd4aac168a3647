"""Case links and merges in the Django admin: read-only lists with search and filters; no
one adds, changes or deletes a link or a merge record by hand."""

from __future__ import annotations

import pytest

from cases.models import CaseLink, CaseMerge
from cases.services import merging
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def relations(supervisor):
    a, b = CaseFactory(), CaseFactory()
    c, d = (CaseFactory(phone="13900000078", email="qian@example.com") for _ in range(2))
    merging.case_link(actor=supervisor, case_id=a.pk, other_id=b.pk)
    merging.case_merge(actor=supervisor, duplicate_id=d.pk, primary_id=c.pk)
    return a, b, c, d


def test_links_are_listed_searched_and_filtered(client, admin_user, relations):
    a, b, c, _d = relations
    client.force_login(admin_user)
    url = "/admin/cases/caselink/"
    listing = client.get(url).content.decode()
    assert a.reference in listing and b.reference in listing
    found = client.get(url, {"q": a.reference}).content.decode()
    assert a.reference in found and c.reference not in found
    assert client.get(url, {"kind__exact": CaseLink.objects.get().kind}).status_code == 200


def test_merges_are_listed_searched_and_filtered_by_undone(client, admin_user, relations):
    _a, _b, c, d = relations
    client.force_login(admin_user)
    url = "/admin/cases/casemerge/"
    assert d.reference in client.get(url, {"q": c.reference}).content.decode()
    assert d.reference in client.get(url, {"undone_at__isempty": "1"}).content.decode()
    assert d.reference not in client.get(url, {"undone_at__isempty": "0"}).content.decode()


@pytest.mark.parametrize("model", [CaseLink, CaseMerge])
def test_no_record_is_added_changed_or_deleted_by_hand(client, admin_user, relations, model):
    record = model.objects.first()
    base = f"/admin/cases/{model._meta.model_name}/"
    client.force_login(admin_user)

    detail = client.get(f"{base}{record.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert client.get(f"{base}add/").status_code == 403
    assert client.post(f"{base}{record.pk}/change/", {}).status_code == 403
    assert client.post(f"{base}{record.pk}/delete/", {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=record.pk).exists()
