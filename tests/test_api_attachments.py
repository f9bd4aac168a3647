"""Attachments through the intake API: base64 in the JSON body, checked by content and size
with the web form's rules, stored with the case in one transaction; bad ones change nothing."""

from __future__ import annotations

import base64
import json

import pytest

from cases.models import Case, CaseAttachment
from channels import api
from channels.attachments import MAX_FILES
from tests.test_api import BODY, post

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


@pytest.fixture(autouse=True)
def _env(intake_env):
    return intake_env


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def with_files(*files: tuple[str, bytes | str], external_id: str = "with-files") -> dict:
    return {**BODY, "external_id": external_id, "attachments": [
        {"name": name, "content_base64": data if isinstance(data, str) else b64(data)}
        for name, data in files
    ]}


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_attachments_are_stored_with_the_case(client, app_key, intake_env):
    _channel, key = app_key
    response = post(client, key, with_files(("photo.png", PNG), ("../receipt.pdf", PDF)))
    assert response.status_code == 201, response.content
    case = Case.objects.get(reference=response.json()["reference"])
    kept = {a.original_name: a for a in CaseAttachment.objects.filter(case=case)}
    assert set(kept) == {"photo.png", "receipt.pdf"}
    assert kept["photo.png"].content_type == "image/png" and kept["photo.png"].size == len(PNG)
    assert (intake_env / kept["receipt.pdf"].file.name).read_bytes() == PDF
    assert "receipt" not in kept["receipt.pdf"].file.name  # random stored name


def test_a_retry_with_attachments_stores_nothing_new(client, app_key, intake_env):
    _channel, key = app_key
    body = with_files(("photo.png", PNG))
    assert post(client, key, body).status_code == 201
    assert post(client, key, body).status_code == 200
    assert CaseAttachment.objects.count() == 1 and len(stored_files(intake_env)) == 1


@pytest.mark.parametrize("name, content, message", [
    ("page.html", b"<!doctype html><script>alert(1)</script>", "is not a photo"),
    ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00", "is not a photo"),
    ("empty.png", b"", "may not be blank"),
    ("broken.png", "not base64!", "not valid base64"),
])
def test_refused_attachments_are_400_per_file_and_change_nothing(
        client, app_key, intake_env, name, content, message):
    _channel, key = app_key
    response = post(client, key, with_files(("ok.png", PNG), (name, content)))
    assert response.status_code == 400, response.content
    fields = response.json()["fields"]
    assert list(fields) == ["attachments.1.content_base64"]
    assert message in fields["attachments.1.content_base64"][0]
    assert not Case.objects.exists() and not CaseAttachment.objects.exists()
    assert stored_files(intake_env) == []


def test_the_size_limit_of_the_web_form_applies(client, app_key, settings):
    settings.CHANNELS_MAX_ATTACHMENT_BYTES = 1024
    _channel, key = app_key
    response = post(client, key, with_files(("big.png", PNG + b"\x00" * 2000)))
    assert response.status_code == 400
    assert "larger than" in response.json()["fields"]["attachments.0.content_base64"][0]
    assert not Case.objects.exists()


def test_at_most_five_files(client, app_key):
    _channel, key = app_key
    response = post(client, key, with_files(*[(f"p{i}.png", PNG) for i in range(MAX_FILES + 1)]))
    assert response.status_code == 400 and "attachments" in response.json()["fields"]
    assert not Case.objects.exists()


def test_attachments_may_take_the_body_past_256_kb(client, app_key):
    _channel, key = app_key
    text = ("投诉证据 evidence line\n" * 15000).encode()  # ~390 KB, ~520 KB in base64
    body = with_files(("log.txt", text))
    assert len(json.dumps(body)) > api.MAX_BODY_BYTES
    response = post(client, key, body)
    assert response.status_code == 201, response.content[:300]
    assert CaseAttachment.objects.get().content_type == "text/plain"


def test_the_rest_of_the_body_is_still_held_to_256_kb(client, app_key):
    _channel, key = app_key
    body = {**with_files(("photo.png", PNG)), "description": "长" * 100_000}
    response = post(client, key, body)
    assert response.status_code == 413 and response.json()["error"] == "too_large"
    assert not Case.objects.exists()


def test_a_body_over_the_upload_limit_is_413(client, app_key, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 300 * 1024
    _channel, key = app_key
    response = post(client, key, with_files(("log.txt", b"x" * 400 * 1024)))
    assert response.status_code == 413 and "300 KB" in response.json()["detail"]


def test_bad_files_among_good_ones_are_named_and_nothing_is_written(client, app_key):
    _channel, key = app_key
    body = with_files(("ok.png", PNG), ("x.html", b"<html>"), ("y", "%%%"))
    response = post(client, key, body)
    assert response.status_code == 400, response.content
    assert set(response.json()["fields"]) == {"attachments.1.content_base64",
                                              "attachments.2.content_base64"}
    assert not Case.objects.exists() and not CaseAttachment.objects.exists()


def test_the_schema_documents_attachments(client):
    spec = json.loads(client.get("/api/v1/schema?format=json").content)
    create = spec["components"]["schemas"]["ComplaintCreate"]["properties"]["attachments"]
    assert create["type"] == "array" and "up to 5 files" in create["description"]
    item = spec["components"]["schemas"]["Attachment"]
    assert set(item["required"]) == {"name", "content_base64"}


@pytest.mark.parametrize("attachments", [5, True, 1.5, "x", {"name": "a"}, None])
def test_a_large_body_whose_attachments_are_not_a_list_is_a_json_error(
        client, app_key, attachments):
    """The size check looks into ``attachments`` before the serializer does: whatever it
    holds, the answer is JSON (400 or 413), never a 500, and nothing is written."""
    _channel, key = app_key
    body = {**BODY, "attachments": attachments, "desired_outcome": "退" * 2000,
            "description": "长" * 80_000}  # over 256 KB with no attachment bytes
    assert len(json.dumps(body).encode()) > api.MAX_BODY_BYTES
    response = post(client, key, body)
    assert response.status_code in (400, 413)
    assert response.json()["error"] in ("invalid", "too_large")
    assert not Case.objects.exists()


def test_an_upload_limit_below_256_kb_is_a_json_413(client, app_key, settings):
    """DATA_UPLOAD_MAX_MEMORY_SIZE below the 256 KB of a plain complaint: a body between the
    two is refused as too large in JSON, not by Django's HTML page."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100 * 1024
    _channel, key = app_key
    body = {**BODY, "description": "长" * 50_000}  # ~150 KB
    response = post(client, key, body)
    assert response.status_code == 413 and response.json()["error"] == "too_large"
    assert not Case.objects.exists()


def test_a_store_that_fails_half_way_leaves_no_file_and_no_case(client, app_key, intake_env,
                                                                 monkeypatch):
    """The second file's write fails: the first file written is removed again, and the case
    it was for is rolled back with it (the API answers 500 for a disk that refuses)."""
    from channels import attachments

    real_storage = attachments.private_storage()
    writes = []

    class FailingSecondWrite:
        def save(self, name, content):
            writes.append(name)
            if len(writes) == 2:
                raise OSError("disk full")
            return real_storage.save(name, content)

        def delete(self, name):
            real_storage.delete(name)

    monkeypatch.setattr(attachments, "private_storage", lambda: FailingSecondWrite())
    client.raise_request_exception = False
    _channel, key = app_key
    response = post(client, key, with_files(("photo.png", PNG), ("receipt.pdf", PDF),
                                            external_id="half-way"))
    assert response.status_code == 500 and len(writes) == 2
    assert stored_files(intake_env) == []
    assert not Case.objects.filter(external_id="half-way").exists()
