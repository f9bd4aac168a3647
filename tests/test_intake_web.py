"""The public complaint form and the desk's logging page, through the HTTP client: success,
attachments (type, size, storage, download), honeypot, rate limit, and arbitrary form data."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.choices import ChannelKind, Clock, Role
from cases.models import Case, CaseAttachment, CaseDeadline, Customer
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
FORM = {
    "name": "李雷", "phone": "13912345678", "email": "", "preferred_channel": "sms",
    "category": "product_quality", "subject": "Kettle leaks", "order_ref": "SO-1001",
    "description": "The kettle leaks boiling water from the base.",
    "occurred_at": "2026-01-05T09:30",
    "desired_outcome": "Replacement", "website": "",
}


@pytest.fixture(autouse=True)
def _env(intake_env):
    return intake_env


def test_form_page_renders_with_honeypot_hidden(client):
    response = client.get("/complain/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="website"' in html
    assert 'class="visually-hidden" aria-hidden="true" id="hp-field"' in html
    assert 'enctype="multipart/form-data"' in html


def test_submit_creates_web_case_and_shows_reference_and_tracking_code(client):
    files = [SimpleUploadedFile("photo.png", PNG, "image/png"),
             SimpleUploadedFile("receipt.pdf", PDF, "application/pdf")]
    response = client.post("/complain/", {**FORM, "attachments": files}, follow=True)
    assert response.status_code == 200
    case = Case.objects.get()
    assert case.channel == ChannelKind.WEB and case.source.code == "web" and case.owner is None
    assert case.occurred_at is not None and case.desired_outcome == "Replacement"
    html = response.content.decode()
    assert case.reference in html and case.tracking_code in html
    stored = list(case.attachments.order_by("original_name"))
    assert [(a.original_name, a.content_type) for a in stored] == [
        ("photo.png", "image/png"), ("receipt.pdf", "application/pdf")]


def test_a_double_submit_of_one_form_is_one_case(client):
    form_id = client.get("/complain/").context["form"].initial["submission_id"]
    first = client.post("/complain/", {**FORM, "submission_id": form_id}, follow=True)
    again = client.post("/complain/", {**FORM, "submission_id": form_id}, follow=True)
    case = Case.objects.get()
    assert case.reference in first.content.decode() and case.reference in again.content.decode()
    assert case.external_id == f"web-{form_id}"


def test_attachments_are_stored_privately_under_random_names(client, intake_env):
    client.post("/complain/", {**FORM, "attachments": [
        SimpleUploadedFile("../../evil name.png", PNG, "image/png")]})
    attachment = CaseAttachment.objects.get()
    path = intake_env / attachment.file.name
    assert path.read_bytes() == PNG
    assert "evil" not in attachment.file.name and attachment.file.name.endswith(".png")
    assert attachment.original_name == "evil name.png"


@pytest.mark.parametrize(("name", "content", "claimed"), [
    ("page.html", b"<!doctype html><script>alert(1)</script>", "text/html"),
    ("run.exe", b"MZ\x90\x00" + b"\x00" * 100, "application/octet-stream"),
    ("fake.png", b"<svg onload=alert(1)>", "image/png"),
])
def test_dangerous_attachments_are_refused_and_nothing_is_created(client, name, content, claimed):
    response = client.post("/complain/", {**FORM, "attachments": [
        SimpleUploadedFile(name, content, claimed)]})
    assert response.status_code == 400
    assert "attachments" in response.context["form"].errors
    assert not Case.objects.exists() and not CaseAttachment.objects.exists()


def test_too_large_attachment_is_refused(client, settings):
    settings.CHANNELS_MAX_ATTACHMENT_BYTES = 1024
    response = client.post("/complain/", {**FORM, "attachments": [
        SimpleUploadedFile("big.pdf", PDF + b" " * 2048, "application/pdf")]})
    assert response.status_code == 400 and not Case.objects.exists()


def test_missing_fields_show_errors_and_create_nothing(client):
    response = client.post("/complain/", {**FORM, "phone": "", "subject": ""})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "phone" in errors and "subject" in errors and not Case.objects.exists()


def test_domain_errors_go_back_to_the_field(client):
    response = client.post("/complain/", {**FORM, "phone": "call me maybe"})
    assert response.status_code == 400 and "phone" in response.context["form"].errors


def test_honeypot_filled_pretends_success_and_stores_nothing(client):
    response = client.post("/complain/", {**FORM, "website": "http://spam.example"},
                           follow=True)
    assert response.status_code == 200 and not Case.objects.exists()
    assert b"TS-" not in response.content


def test_per_ip_rate_limit(client, settings):
    settings.CHANNELS_RATE_LIMITS = {"complain": "2/3600"}
    for i in range(2):
        assert client.post("/complain/", {**FORM, "order_ref": f"R{i}"}).status_code == 302
    blocked = client.post("/complain/", {**FORM, "order_ref": "R9"})
    assert blocked.status_code == 429 and 3500 < int(blocked["Retry-After"]) <= 3600
    assert Case.objects.count() == 2
    other_ip = client.post("/complain/", {**FORM, "order_ref": "R8"}, REMOTE_ADDR="10.0.0.9")
    assert other_ip.status_code == 302


def test_chinese_form_language_is_kept_for_notices(client):
    client.post("/complain/", {**FORM, "subject": "水壶漏水"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert Customer.objects.get().language == "zh-hans"
    client.post("/complain/", {**FORM, "phone": "13900000000", "order_ref": "E"},
                HTTP_ACCEPT_LANGUAGE="en")
    assert Customer.objects.get(phone="13900000000").language == "en"


form_text = st.text(max_size=120)


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(fields=st.fixed_dictionaries({
    "name": form_text, "phone": form_text, "email": form_text,
    "preferred_channel": st.sampled_from(["sms", "email", "zz"]),
    "category": st.sampled_from(["delivery", "other", "bad"]), "subject": form_text,
    "description": form_text, "order_ref": form_text, "occurred_at": form_text,
    "desired_outcome": form_text,
}), upload=st.none() | st.binary(max_size=300))
def test_arbitrary_form_data_never_500_and_never_half_written(client, fields, upload):
    from django.core.cache import cache

    cache.clear()
    fields = {k: v.replace("\x00", "") for k, v in fields.items()}
    if upload is not None:
        fields["attachments"] = [SimpleUploadedFile("f.bin", upload or b"x")]
    before = (Case.objects.count(), CaseDeadline.objects.count(), CaseAttachment.objects.count())
    response = client.post("/complain/", fields)
    assert response.status_code in (302, 400), response.status_code
    after = (Case.objects.count(), CaseDeadline.objects.count(), CaseAttachment.objects.count())
    if response.status_code == 400:
        assert after == before
    else:
        assert after[0] == before[0] + 1 and after[1] == before[1] + 3


# --- the desk's logging page ------------------------------------------------------------------
def test_desk_log_requires_an_agent(client, liaison):
    assert client.get("/desk/log/").status_code == 302  # to the login page
    client.force_login(liaison)
    assert client.get("/desk/log/").status_code == 403


def test_agent_finds_customer_by_phone_and_logs_hotline_call(client, frontline):
    customer = CustomerFactory(name="张伟", phone="13811112222", email="zw@example.com")
    client.force_login(frontline)
    found = client.get("/desk/log/", {"q": "138 1111 2222"})
    assert found.status_code == 200 and found.context["matches"] == [customer]
    chosen = client.get("/desk/log/", {"q": "13811112222", "customer": customer.pk})
    assert chosen.context["form"].initial["phone"] == "13811112222"
    response = client.post("/desk/log/", {
        "channel": "hotline", "customer": customer.pk, "name": "张伟", "phone": "13811112222",
        "email": "", "preferred_channel": "phone", "category": "service_attitude",
        "subject": "门店店员态度差", "description": "店员出言不逊。", "urgency": "routine",
        "scope": "individual", "difficulty": "frontline", "location": "南京西路店",
        "attachments": [SimpleUploadedFile("a.jpg", b"\xff\xd8\xff\xe0" + b"1" * 50)],
    })
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{case.pk}/")
    assert case.owner == frontline and case.customer == customer
    assert case.channel == ChannelKind.HOTLINE and case.source.code == "hotline"
    assert case.first_responded_at is not None
    assert case.deadlines.get(clock=Clock.RESPONSE).stopped_at is not None
    assert case.attachments.get().content_type == "image/jpeg"


def test_agent_logs_walk_in_for_a_new_customer(client, frontline):
    client.force_login(frontline)
    empty = client.get("/desk/log/", {"q": "new@example.com"})
    assert empty.context["matches"] == [] and empty.context["form"].initial == {
        "email": "new@example.com"}
    client.post("/desk/log/", {
        "channel": "walk_in", "name": "New Person", "phone": "", "email": "new@example.com",
        "preferred_channel": "email", "category": "after_sales", "subject": "Repair refused",
        "description": "Store refused a warranty repair.", "urgency": "routine",
        "scope": "individual", "difficulty": "cross_department",
    })
    case = Case.objects.get()
    assert case.channel == ChannelKind.WALK_IN and case.source.code == "walk-in"
    assert case.owner == frontline and case.customer.email == "new@example.com"
    assert case.suggested_tier == 2


def test_letter_is_logged_without_first_response(client, frontline):
    client.force_login(frontline)
    client.post("/desk/log/", {
        "channel": "letter", "name": "王五", "phone": "13700001111", "email": "",
        "preferred_channel": "phone", "category": "billing", "subject": "重复扣费",
        "description": "信中说被扣了两次钱。", "urgency": "routine", "scope": "individual",
        "difficulty": "frontline",
    })
    case = Case.objects.get()
    assert case.owner == frontline and case.first_responded_at is None


# --- attachment download ---------------------------------------------------------------------
def _case_with_attachment(client) -> CaseAttachment:
    client.post("/complain/", {**FORM, "attachments": [
        SimpleUploadedFile("note.txt", "有毒的<html>".encode(), "text/html")]})
    client.logout()
    return CaseAttachment.objects.get()


def test_attachment_download_is_forced_and_nosniff(client, frontline):
    attachment = _case_with_attachment(client)
    client.force_login(frontline)
    response = client.get(f"/desk/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    # Its own sandboxing policy, not the site-wide one (django-csp keeps a header it finds).
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Content-Type"].startswith("text/plain")
    assert b"".join(response.streaming_content) == "有毒的<html>".encode()


def test_attachment_is_hidden_from_public_and_from_users_who_cannot_see_the_case(client):
    attachment = _case_with_attachment(client)
    assert client.get(f"/desk/attachments/{attachment.pk}/").status_code == 302
    client.force_login(UserFactory(username="liaison-x", role=Role.LIAISON))
    assert client.get(f"/desk/attachments/{attachment.pk}/").status_code == 404
    assert client.get("/media/" + attachment.file.name).status_code == 404


def test_upload_is_read_by_content_not_name():
    from channels.attachments import IncomingFile, check

    assert check(IncomingFile("x.txt", PNG)).content_type == "image/png"
    assert check(IncomingFile("x.txt", PNG)).name == "x.png"
    buf = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    assert check(IncomingFile("a.docx", buf.getvalue())).content_type.endswith("document")
