"""POST /api/v1/complaints/<reference>/messages through HTTP: the customer's SMS or WeChat
reply joins the case's thread, once per channel message id, verified by the sender."""

from __future__ import annotations

import base64
import json

import pytest
from django.db.models import Max

from cases.choices import ContactChannel, NoteKind, Stage
from cases.models import Alert, Case, CaseAttachment, CaseNote, Customer
from channels.models import ApiKey, Channel
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _env(intake_env):
    return intake_env


@pytest.fixture
def wechat_key(db):
    _key, raw = ApiKey.issue(Channel.objects.get(code="wechat"), label="bridge")
    return raw


@pytest.fixture
def case(frontline) -> Case:
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=frontline, phone="13800138000",
                       preferred_channel=ContactChannel.SMS)
    Customer.objects.filter(pk=case.customer_id).update(wechat_openid="oWX-customer-1")
    return Case.objects.select_related("customer").get(pk=case.pk)


def post(client, key, reference, body, **extra):
    payload = body if isinstance(body, (str, bytes)) else json.dumps(body, ensure_ascii=False)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    headers.update(extra)
    return client.post(f"/api/v1/complaints/{reference}/messages", payload,
                       content_type=headers.pop("content_type", "application/json"), **headers)


def body(**over):
    return {"message_id": "sms-0001", "text": "快递今天还是没到。",
            "sender": {"phone": "+86 138-0013-8000"}, **over}


def _writes() -> tuple:
    """What a refused request must leave alone."""
    return (CaseNote.objects.count(), Alert.objects.count(), CaseAttachment.objects.count(),
            Case.objects.aggregate(Max("updated_at"))["updated_at__max"])


def test_a_message_from_the_customer_is_201_and_joins_the_thread(client, wechat_key, case,
                                                                  frontline):
    response = post(client, wechat_key, case.reference, body())

    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["verified"] is True and answer["reference"] == case.reference
    note = CaseNote.objects.get(pk=answer["id"])
    assert note.case_id == case.pk and note.kind == NoteKind.CUSTOMER_MESSAGE
    assert note.body == "快递今天还是没到。" and note.visible_to_customer
    assert Alert.objects.filter(recipient=frontline, case=case,
                                kind="customer_message").exists()
    case.refresh_from_db()
    assert case.awaiting_reply_since is not None


def test_the_same_message_id_again_is_200_and_the_same_message(client, wechat_key, case):
    first = post(client, wechat_key, case.reference, body()).json()
    before = _writes()

    again = post(client, wechat_key, case.reference.lower(), body(text="不同的文字"))

    assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert _writes() == before
    assert CaseNote.objects.filter(case=case, kind=NoteKind.CUSTOMER_MESSAGE).count() == 1


def test_a_wechat_id_of_the_customer_verifies_too(client, wechat_key, case):
    response = post(client, wechat_key, case.reference,
                    body(message_id="wx-1", sender={"wechat_openid": "oWX-customer-1"}))
    assert response.status_code == 201 and response.json()["verified"] is True


def test_a_stranger_s_message_is_kept_for_staff_only(client, wechat_key, case, frontline):
    response = post(client, wechat_key, case.reference,
                    body(sender={"phone": "13900000000", "wechat_openid": "oWX-other"}))

    assert response.status_code == 201 and response.json()["verified"] is False
    note = CaseNote.objects.get(pk=response.json()["id"])
    assert note.kind == NoteKind.UNVERIFIED_MESSAGE and not note.visible_to_customer
    assert "13900000000" in note.sender
    assert Alert.objects.get(recipient=frontline, case=case).kind == "unverified_message"


def test_attachments_are_kept_on_the_message(client, wechat_key, case, _env):
    files = [{"name": "破损.png", "content_base64": base64.b64encode(PNG).decode()}]
    response = post(client, wechat_key, case.reference, body(attachments=files))

    assert response.status_code == 201 and response.json()["attachments"] == 1
    (kept,) = CaseAttachment.objects.filter(case=case, note_id=response.json()["id"])
    assert kept.content_type == "image/png" and (_env / kept.file.name).exists()


def test_an_unknown_reference_is_a_404_json(client, wechat_key, case):
    before = _writes()
    for reference in ("TS-2026-999999", "not-a-reference"):
        response = post(client, wechat_key, reference, body())
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
    assert _writes() == before


@pytest.mark.parametrize(("payload", "field"), [
    (body(text=""), "text"),
    (body(text="   "), "text"),
    (body(text="长" * 5001), "text"),
    (body(message_id=""), "message_id"),
    (body(sender={}), "sender.phone"),
    (body(sender={"email": "not-an-address"}), "sender.email"),
    ({"text": "hi", "sender": {"phone": "1"}}, "message_id"),
    (body(attachments=[{"name": "x.exe", "content_base64": base64.b64encode(b"MZ\x00\x01")
                        .decode()}]), "attachments.0.content_base64"),
])
def test_bad_input_is_a_clear_400_and_changes_nothing(client, wechat_key, case, payload, field):
    before = _writes()

    response = post(client, wechat_key, case.reference, payload)

    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["error"] == "invalid" and answer["detail"] == "The message is not valid."
    assert field in answer["fields"]
    assert _writes() == before


def test_a_body_that_is_not_json_is_refused_and_changes_nothing(client, wechat_key, case):
    before = _writes()
    assert post(client, wechat_key, case.reference, "{not json").status_code == 400
    assert post(client, wechat_key, case.reference, "text=hi",
                content_type="application/x-www-form-urlencoded").status_code == 415
    assert _writes() == before


@pytest.mark.parametrize("header", [None, "Bearer wrong-key", "Basic abc"])
def test_a_missing_or_wrong_key_is_401_and_changes_nothing(client, case, header):
    before = _writes()
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = post(client, None, case.reference, body(), **extra)
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"
    assert _writes() == before


def test_a_message_resumes_a_case_paused_for_the_customer(client, wechat_key, case,
                                                          frontline):
    from cases.models import PauseReason
    from cases.services.pauses import case_pause

    reason = PauseReason.objects.filter(resumes_on_customer_reply=True).first()
    case_pause(actor=frontline, case_id=case.pk, reason=reason.code, note="等补充材料")
    assert Case.objects.get(pk=case.pk).paused_since is not None

    post(client, wechat_key, case.reference, body())

    assert Case.objects.get(pk=case.pk).paused_since is None


def test_the_schema_documents_the_endpoint_with_examples(client):
    spec = json.loads(client.get("/api/v1/schema?format=json").content)
    operation = spec["paths"]["/api/v1/complaints/{reference}/messages"]["post"]
    assert {"201", "200", "400", "401", "404", "413", "415", "429"} <= set(operation["responses"])
    assert operation["security"] == [{"channelKey": []}]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert {"SMSReply", "WeChatReply"} <= set(examples)
