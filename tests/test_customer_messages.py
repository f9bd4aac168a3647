"""A customer's message on an existing case: the cases service (note, internal notes, alerts,
idempotency) and the channel around it (attachments in the same transaction)."""

from __future__ import annotations

import pytest

from cases.choices import NoteKind, Stage
from cases.models import Alert, Case, CaseAttachment, CaseNote
from cases.services import ActionNotAllowed, case_add_customer_message
from channels import attachments as files
from channels.services import customer_message_submit
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def case(frontline, senior):
    return CaseFactory(stage=Stage.IN_PROGRESS, actor=frontline, handler=senior)


def _png(name: str = "photo.png") -> files.CheckedFile:
    return files.check(files.IncomingFile(name, PNG))


# --- the cases service -------------------------------------------------------------------------
def test_the_message_is_a_note_the_customer_sees_and_alerts_owner_and_handler(
        case, frontline, senior):
    version = case.version
    result = case_add_customer_message(case_id=case.pk, body="  请尽快处理\x00 ",
                                       message_id="m-1", notes=["refused: virus.exe"])
    assert result.created
    note = result.note
    assert (note.kind, note.body, note.visible_to_customer, note.external_message_id) == (
        NoteKind.CUSTOMER_MESSAGE, "请尽快处理", True, "m-1")
    internal = CaseNote.objects.get(case=case, kind=NoteKind.INTERNAL)
    assert internal.body == "refused: virus.exe" and not internal.visible_to_customer
    alerted = set(Alert.objects.filter(case=case, kind="customer_message")
                  .values_list("recipient_id", flat=True))
    assert alerted == {frontline.pk, senior.pk}
    case.refresh_from_db()
    assert case.updated_at >= note.created_at and case.version == version


def test_one_alert_when_the_owner_handles_the_case_and_none_without_staff(frontline):
    owned = CaseFactory(stage=Stage.IN_PROGRESS, actor=frontline, handler=frontline)
    case_add_customer_message(case_id=owned.pk, body="hello")
    assert Alert.objects.filter(case=owned).count() == 1
    unowned = CaseFactory()
    case_add_customer_message(case_id=unowned.pk, body="hello")
    assert not Alert.objects.filter(case=unowned).exists()


def test_the_same_message_id_writes_nothing_the_second_time(case):
    first = case_add_customer_message(case_id=case.pk, body="one", message_id="m-1",
                                      notes=["n"])
    again = case_add_customer_message(case_id=case.pk, body="one", message_id="m-1",
                                      notes=["n"])
    assert not again.created and again.note.pk == first.note.pk
    assert CaseNote.objects.filter(
        case=case, kind__in=[NoteKind.CUSTOMER_MESSAGE, NoteKind.INTERNAL]).count() == 2
    assert Alert.objects.filter(case=case).count() == 2


def test_messages_without_an_id_are_each_kept(case):
    case_add_customer_message(case_id=case.pk, body="one")
    case_add_customer_message(case_id=case.pk, body="one")
    assert CaseNote.objects.filter(case=case, kind=NoteKind.CUSTOMER_MESSAGE).count() == 2


def test_an_empty_message_is_a_dash():
    case = CaseFactory()
    assert case_add_customer_message(case_id=case.pk, body=" \n").note.body == "-"


def test_a_missing_case_is_refused():
    with pytest.raises(ActionNotAllowed):
        case_add_customer_message(case_id=987654, body="hello")


# --- the channel: attachments in the same transaction -------------------------------------------
def test_attachments_are_kept_with_the_message(case, intake_env):
    note = customer_message_submit(case_id=case.pk, body="see photo", message_id="m-1",
                                   attachments=[_png()]).note
    assert note.kind == NoteKind.CUSTOMER_MESSAGE
    (attachment,) = CaseAttachment.objects.filter(case=case)
    assert attachment.note_id == note.pk
    assert attachment.original_name == "photo.png"
    assert (intake_env / attachment.file.name).exists()


def test_a_retried_message_stores_its_attachments_once(case, intake_env):
    customer_message_submit(case_id=case.pk, body="see photo", message_id="m-1",
                            attachments=[_png()])
    customer_message_submit(case_id=case.pk, body="see photo", message_id="m-1",
                            attachments=[_png()])
    assert CaseAttachment.objects.filter(case=case).count() == 1
    assert len(list((intake_env / "attachments").rglob("*.png"))) == 1


def test_a_failure_storing_files_leaves_no_message(case, intake_env, monkeypatch):
    def store_fails(target: Case, checked: list[files.CheckedFile], **kw) -> list[CaseAttachment]:
        raise OSError("disk full")

    monkeypatch.setattr(files, "store", store_fails)
    notes_before = CaseNote.objects.filter(case=case).count()
    with pytest.raises(OSError, match="disk full"):
        customer_message_submit(case_id=case.pk, body="see photo", message_id="m-1",
                                attachments=[_png()], notes=["a note"])
    assert CaseNote.objects.filter(case=case).count() == notes_before
    assert not Alert.objects.filter(case=case).exists()
    assert not CaseAttachment.objects.exists()
