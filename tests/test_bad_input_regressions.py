"""Bad input found by fuzzing. Each of these answered 500 (some on one database only); now
each is a form error, a message, a 404 or a JSON 400, and changes nothing (or, for a text
with a NUL, stores the text without it)."""

from __future__ import annotations

import csv
import io
import json

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from cases.choices import Role, Stage, Tier
from cases.models import Alert, Case, CaseTransition, CollaborationRequest, Revisit
from cases.models.collaboration import RequestStatus
from cases.services import collaboration as collab
from cases.services.revisits import revisit_open_due
from tests.factories import CaseFactory, DepartmentFactory, UserFactory, advance
from tests.test_api import BODY, post

pytestmark = pytest.mark.django_db

BIG_ID = str(2**63)  # one past the largest 64-bit id
HUGE = "1" * 5000  # more digits than int() reads


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


# --- 1. the case export with a search text ------------------------------------------------------
def _exported_references(response, fmt: str) -> list[str]:
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(_body(response).decode("utf-8").lstrip("\ufeff"))))
    else:
        book = load_workbook(io.BytesIO(_body(response)), read_only=True)
        rows = [list(row) for row in book.active.iter_rows(values_only=True)]
    return [row[0] for row in rows[1:]]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_case_export_with_a_search_has_the_desk_lists_matches(client, supervisor, fmt):
    earlier = CaseFactory(subject="Parcel lost")
    later = CaseFactory(stage=Stage.CLOSED, subject="Parcel late")  # a search sees closed ones
    CaseFactory(subject="Invoice wrong")
    client.force_login(supervisor)
    listed = client.get(reverse("desk:cases"), {"q": "parcel"}).context["cases"]

    response = client.get(reverse("reports:export_cases", args=[fmt]), {"q": "parcel"})

    assert response.status_code == 200
    references = _exported_references(response, fmt)
    assert references == [later.reference, earlier.reference]  # newest first, as exports are
    assert set(references) == {case.reference for case in listed}


def test_a_search_export_past_the_cap_is_refused_not_cut_short(client, supervisor,
                                                               monkeypatch):
    from cases import selectors

    monkeypatch.setattr(selectors, "SEARCH_CAP", 2)
    for n in range(3):
        CaseFactory(subject=f"Parcel lost {n}")
    client.force_login(supervisor)
    response = client.get(reverse("reports:export_cases", args=["csv"]), {"q": "parcel"})
    assert response.status_code == 400 and b"more than 2 cases" in response.content


# --- 2. a date whose local day lies outside the years UTC can hold ------------------------------
DATE_EDGES = [
    pytest.param("Asia/Shanghai", "received_after", "0001-01-01", id="year-1-ahead-of-utc"),
    pytest.param("America/New_York", "received_before", "9999-12-31", id="year-9999-behind-utc"),
]


@pytest.mark.parametrize(("zone", "param", "day"), DATE_EDGES)
def test_desk_list_refuses_a_date_beyond_utc_as_a_filter_error(client, frontline, zone, param,
                                                              day):
    frontline.time_zone = zone
    frontline.save()
    case = CaseFactory()
    client.force_login(frontline)

    response = client.get(reverse("desk:cases"), {"queue": "all", param: day})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Some filters were not understood" in page and f"{day} is out of range." in page
    assert [c.pk for c in response.context["cases"]] == [case.pk]  # the bad filter is ignored


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize(("zone", "param", "day"), DATE_EDGES)
def test_case_export_refuses_a_date_beyond_utc_with_a_400(client, supervisor, zone, param, day,
                                                          fmt):
    supervisor.time_zone = zone
    supervisor.save()
    client.force_login(supervisor)

    response = client.get(reverse("reports:export_cases", args=[fmt]), {param: day})

    assert response.status_code == 400
    assert f"{day} is out of range." in response.content.decode()


# --- 3. ids that str.isdigit accepts and int() or the database does not -------------------------
@pytest.mark.parametrize("raw", ["²", HUGE, BIG_ID, "0"])
def test_marking_an_alert_read_with_a_bad_id_is_a_message(client, frontline, raw):
    alert = Alert.objects.create(recipient=frontline, kind="at_risk", message="a",
                                 created_at=timezone.now())
    client.force_login(frontline)

    response = client.post(reverse("desk:alerts"), {"alert": raw})

    assert response.status_code == 302 and "No such alert." in _messages(response)
    alert.refresh_from_db()
    assert alert.read_at is None


def test_an_id_with_thousands_of_leading_zeros_is_that_id(client, frontline):
    """int() counts leading zeros against its 4,300-digit limit (a 500 before)."""
    alert = Alert.objects.create(recipient=frontline, kind="at_risk", message="a",
                                 created_at=timezone.now())
    client.force_login(frontline)

    response = client.post(reverse("desk:alerts"), {"alert": "0" * 5000 + str(alert.pk)})

    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.read_at is not None


@pytest.mark.parametrize("raw", ["²", HUGE, BIG_ID])
def test_logging_page_ignores_a_bad_customer_id(client, frontline, raw):
    client.force_login(frontline)

    response = client.get(reverse("channels:log_complaint"), {"customer": raw})

    assert response.status_code == 200
    assert Case.objects.count() == 0


@pytest.fixture
def board_request(dept_tree):
    """An open request of a case in progress: (request, the asking agent, the liaison)."""
    agent = UserFactory(username="cs-agent", role=Role.FRONTLINE)
    agent.department = dept_tree["cs"]
    agent.save(update_fields=["department"])
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=agent)
    req = collab.request_create(actor=agent, case_id=case.pk, department=dept_tree["logistics"],
                                ask="核实物流轨迹")
    return req, agent, dept_tree["logistics"].liaison


def _move(client, req, action: str, **data):
    return client.post(reverse("board:action", args=[req.pk, action]), data)


@pytest.mark.parametrize("raw", ["²", HUGE])
def test_a_board_move_with_an_unreadable_version_acts_as_without_one(client, board_request, raw):
    req, _agent, liaison = board_request
    client.force_login(liaison)

    response = _move(client, req, "answer", plan="明日补发", version=raw)

    assert response.status_code == 302
    req.refresh_from_db()
    assert req.status == RequestStatus.ANSWERED and req.plan == "明日补发"


@pytest.fixture
def open_revisit(frontline):
    """A revisit opened by the sweep (so it has the nonce its survey link carries)."""
    case = advance(CaseFactory(actor=frontline), Stage.FEEDBACK_GIVEN)
    with time_machine.travel(case.revisits.get().due_at, tick=False):
        revisit_open_due()
    revisit = Revisit.objects.get(case=case)
    assert revisit.token_nonce
    return revisit


@pytest.mark.parametrize("raw", ["²", HUGE, BIG_ID])
def test_a_signed_survey_link_with_a_bad_revisit_id_is_not_valid(client, open_revisit, raw):
    token = signing.TimestampSigner(salt="cases.survey").sign(f"{raw}.{open_revisit.token_nonce}")

    response = client.get(reverse("survey:answer", args=[token]))

    assert response.status_code == 404
    assert "This survey link is not valid" in response.content.decode()
    open_revisit.refresh_from_db()
    assert open_revisit.answered_at is None


# --- 4. ids past 64 bits in the desk's choice fields --------------------------------------------
def test_assign_with_a_task_force_id_past_64_bits_is_a_form_error(client, supervisor):
    case = CaseFactory(stage=Stage.TRIAGED, tier=Tier.URGENT)
    department = DepartmentFactory(code="quality")
    client.force_login(supervisor)

    response = client.post(reverse("desk:case_action", args=[case.pk, "assign"]), {
        "handler": supervisor.pk, "department": department.pk, "task_force": BIG_ID,
    })

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    case.refresh_from_db()
    assert case.stage == Stage.TRIAGED and case.handler_id is None


def test_bulk_assign_with_a_case_id_past_64_bits_is_a_message(client, supervisor, frontline):
    case = CaseFactory(stage=Stage.TRIAGED)
    client.force_login(supervisor)

    response = client.post(reverse("desk:bulk"), {
        "action": "assign", "agent": frontline.pk, "cases": [case.pk, BIG_ID],
    })

    assert response.status_code == 302
    assert any("Select a valid choice" in m for m in _messages(response))
    case.refresh_from_db()
    assert case.stage == Stage.TRIAGED and case.handler_id is None


def test_bulk_transfer_with_a_reason_past_the_limit_is_a_message(client, supervisor,
                                                                 frontline):
    case = CaseFactory(stage=Stage.TRIAGED)
    owner = case.owner_id
    client.force_login(supervisor)

    response = client.post(reverse("desk:bulk"), {
        "action": "transfer", "agent": frontline.pk, "cases": [case.pk],
        "reason": "转" * 4001,
    })

    assert response.status_code == 302
    assert any("4000" in m for m in _messages(response))
    case.refresh_from_db()
    assert case.owner_id == owner


# --- 5. a NUL in the board's texts (PostgreSQL refuses it in a text column) ---------------------
def test_a_nul_in_a_board_text_is_dropped_before_storing(client, board_request):
    req, agent, liaison = board_request
    client.force_login(liaison)
    assert _move(client, req, "answer", plan="明日\x00补发").status_code == 302
    client.force_login(agent)
    assert _move(client, req, "accept", note="好\x00的").status_code == 302
    assert _move(client, req, "complete", note="已\x00补发").status_code == 302

    req.refresh_from_db()
    assert req.status == RequestStatus.DONE and req.plan == "明日补发"
    notes = CaseTransition.objects.filter(case_id=req.case_id, field="request").values_list(
        "note", flat=True)
    assert any("已补发" in note for note in notes)


def test_a_withdraw_reason_of_only_a_nul_is_refused(client, board_request):
    req, agent, _liaison = board_request
    client.force_login(agent)

    response = _move(client, req, "withdraw", reason="\x00")

    assert response.status_code == 302
    assert "Say why the request is withdrawn." in _messages(response)
    assert CollaborationRequest.objects.get(pk=req.pk).status == RequestStatus.OPEN


def test_a_nul_in_board_todos_and_notes_is_stored_without_it(board_request):
    req, agent, _liaison = board_request

    todo = collab.todo_add(actor=agent, request_id=req.pk, title="打\x00电话")
    note = collab.request_add_note(actor=agent, request_id=req.pk, body="已\x00联系")

    assert (todo.title, note.body) == ("打电话", "已联系")


# --- 6-8. the intake API ------------------------------------------------------------------------
@pytest.fixture
def api_key(intake_env, app_key):
    return app_key[1]


def test_api_error_does_not_echo_a_lone_surrogate(client, api_key):
    body = json.dumps({**BODY, "category": "\ud800"})  # ASCII: the surrogate as \ud800

    response = post(client, api_key, body)

    assert response.status_code == 400
    assert response.json()["fields"]["category"] == ['"\\ud800" is not a valid choice.']
    assert Case.objects.count() == 0


def test_api_refuses_a_deeply_nested_body_as_malformed_json(client, api_key):
    body = '{"a":' * 5000 + "1" + "}" * 5000

    response = post(client, api_key, body)

    assert response.status_code == 400
    assert response.json() == {"error": "invalid", "detail": "The body is not valid JSON."}
    assert Case.objects.count() == 0


def test_api_takes_a_numeric_external_id_as_its_text(client, api_key):
    first = post(client, api_key, {**BODY, "external_id": 0})
    retry = post(client, api_key, {**BODY, "external_id": 0})
    without = post(client, api_key, {k: v for k, v in BODY.items() if k != "external_id"})
    again = post(client, api_key, {**BODY, "external_id": 0})

    assert (first.status_code, retry.status_code, without.status_code, again.status_code) == (
        201, 200, 201, 200)
    assert retry.json()["reference"] == again.json()["reference"] == first.json()["reference"]
    assert without.json()["reference"] != first.json()["reference"]
    assert Case.objects.get(reference=first.json()["reference"]).external_id == "0"
    assert Case.objects.get(reference=without.json()["reference"]).external_id == ""


def test_api_numeric_external_id_does_not_match_a_case_without_one(client, api_key):
    without = post(client, api_key, {k: v for k, v in BODY.items() if k != "external_id"})

    numbered = post(client, api_key, {**BODY, "external_id": 0})

    assert (without.status_code, numbered.status_code) == (201, 201)
    assert numbered.json()["reference"] != without.json()["reference"]
