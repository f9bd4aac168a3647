"""The customer's progress lookup (/track/): what it shows, what it never shows, and that it
cannot be used to guess codes or list cases."""

from __future__ import annotations

import pytest

from cases import services
from cases.choices import NoteKind, Stage
from cases.models import CaseNote
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _env(intake_env):
    return intake_env


def lookup(client, reference, code, **extra):
    return client.post("/track/", {"reference": reference, "code": code}, **extra)


def test_tracking_code_shows_customer_timeline(client):
    case = CaseFactory(stage=Stage.FEEDBACK_GIVEN, phone="13955556666")
    response = lookup(client, case.reference, case.tracking_code)
    assert response.status_code == 200
    html = response.content.decode()
    assert case.reference in html and "We sent you the result" in html
    assert html.count(case.feedback_message) == 1  # the result meant for the customer
    assert case.preventive_measures in html


def test_input_is_forgiving_of_case_and_spaces(client):
    case = CaseFactory()
    code = case.tracking_code
    response = lookup(client, case.reference.lower(), f" {code[:4].lower()} {code[4:]} ")
    assert response.status_code == 200 and case.subject in response.content.decode()


@pytest.mark.parametrize("code", ["6666", "13955556666", "139****6666"])
def test_what_a_liaison_sees_of_the_phone_does_not_open_the_case(client, code):
    """Staff screens show the phone masked (first three, last four digits): none of it is
    a credential, only the tracking code sent to the customer is."""
    case = CaseFactory(phone="13955556666")
    response = lookup(client, case.reference, code)
    assert response.status_code == 404 and case.subject not in response.content.decode()


def test_the_form_asks_for_the_tracking_code_only(client):
    html = client.get("/track/").content.decode()
    assert "Tracking code" in html and "last 4 digits" not in html


def test_internal_notes_and_staff_names_are_never_shown(client, supervisor):
    case = CaseFactory(stage=Stage.IN_PROGRESS)
    services.case_add_note(actor=supervisor, case_id=case.pk, body="客户难缠，内部备注",
                           kind=NoteKind.INTERNAL)
    CaseNote.objects.create(case=case, kind=NoteKind.PROGRESS, body="我们已联系仓库。",
                            visible_to_customer=True, author=supervisor,
                            created_at=case.received_at)
    html = lookup(client, case.reference, case.tracking_code).content.decode()
    assert "我们已联系仓库。" in html
    assert "内部备注" not in html and "联系物流核实" not in html
    assert "已致电客户" not in html  # the contact summary is internal
    for name in (str(supervisor), supervisor.username, "factory-supervisor"):
        assert name not in html
    assert case.customer.phone not in html


def test_wrong_reference_and_wrong_code_get_the_same_answer(client):
    case = CaseFactory()
    wrong_code = lookup(client, case.reference, "AAAAAAAAAA")
    wrong_ref = lookup(client, "TS-2026-999999", case.tracking_code)
    assert wrong_code.status_code == wrong_ref.status_code == 404

    def main(response):
        html = response.content.decode()
        return html[html.index("<main"):].replace(case.reference, "").replace(
            "TS-2026-999999", "").replace("AAAAAAAAAA", "").replace(case.tracking_code, "")

    import re

    def strip_csrf(html):
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)

    assert strip_csrf(main(wrong_code)) == strip_csrf(main(wrong_ref))


def test_failed_lookups_for_one_reference_are_limited(client, settings):
    settings.CHANNELS_RATE_LIMITS = {"track_reference": "3/3600", "track": "100/600"}
    case = CaseFactory()
    for i in range(3):
        assert lookup(client, case.reference, f"{i:04d}", REMOTE_ADDR=f"10.0.0.{i}"
                      ).status_code == 404
    blocked = lookup(client, case.reference, case.tracking_code, REMOTE_ADDR="10.0.0.99")
    assert blocked.status_code == 429 and case.subject not in blocked.content.decode()


def test_a_locked_reference_is_told_when_to_retry_and_others_are_not_locked(client, settings):
    settings.CHANNELS_RATE_LIMITS = {"track_reference": "1/3600", "track": "100/600"}
    case, other = CaseFactory(), CaseFactory()
    assert lookup(client, case.reference, "WRONG").status_code == 404
    blocked = lookup(client, case.reference, case.tracking_code)
    assert blocked.status_code == 429 and 3500 < int(blocked["Retry-After"]) <= 3600
    assert lookup(client, other.reference, other.tracking_code).status_code == 200


def test_a_guessing_address_is_refused_before_the_reference_locks_for_its_customer(
        client, settings):
    settings.CHANNELS_RATE_LIMITS = {"track_reference_ip": "2/3600",
                                     "track_reference": "5/3600", "track": "100/600"}
    case = CaseFactory()
    for i in range(2):
        assert lookup(client, case.reference, f"WRONG{i}", REMOTE_ADDR="10.0.0.66"
                      ).status_code == 404
    refused = lookup(client, case.reference, case.tracking_code, REMOTE_ADDR="10.0.0.66")
    assert refused.status_code == 429 and 3500 < int(refused["Retry-After"]) <= 3600
    customer = lookup(client, case.reference, case.tracking_code, REMOTE_ADDR="10.0.0.7")
    assert customer.status_code == 200 and case.subject in customer.content.decode()


def test_successful_lookups_do_not_count_against_the_reference(client, settings):
    settings.CHANNELS_RATE_LIMITS = {"track_reference": "1/3600", "track": "100/600"}
    case = CaseFactory()
    for _ in range(3):
        assert lookup(client, case.reference, case.tracking_code).status_code == 200


def test_lookups_per_address_are_limited(client, settings):
    settings.CHANNELS_RATE_LIMITS = {"track": "2/600"}
    case = CaseFactory()
    lookup(client, "TS-2026-000001", "X")
    lookup(client, "TS-2026-000002", "X")
    blocked = lookup(client, case.reference, case.tracking_code)
    assert blocked.status_code == 429 and 500 < int(blocked["Retry-After"]) <= 600
    assert lookup(client, case.reference, case.tracking_code, REMOTE_ADDR="10.0.0.5"
                  ).status_code == 200


def test_get_prefills_reference_and_shows_no_case(client):
    case = CaseFactory()
    response = client.get("/track/", {"reference": case.reference})
    assert response.status_code == 200 and case.reference in response.content.decode()
    assert case.subject not in response.content.decode()


def test_customer_reply_shows_as_their_message(client):
    from cases.services import case_add_customer_message

    case = CaseFactory(stage=Stage.IN_PROGRESS)
    case_add_customer_message(case_id=case.pk, body="请尽快处理", message_id="m-1")
    html = lookup(client, case.reference, case.tracking_code).content.decode()
    assert "Your message" in html and "请尽快处理" in html


def test_lookup_is_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    case = CaseFactory(stage=Stage.FEEDBACK_GIVEN)
    with django_assert_max_num_queries(6):
        assert lookup(client, case.reference, case.tracking_code).status_code == 200
