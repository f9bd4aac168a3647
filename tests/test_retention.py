"""Issue 19 item 2, the personal-data lifecycle: cases past retention lose every trace of their
customer's personal data (searched in every text column of every model), the KPI sums stay as
they were, the audit trail records it; holds and cases within retention are left alone; the
sweep is bulk."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.choices import Category, Role, Stage
from cases.models import (
    Alert,
    Case,
    CaseAttachment,
    CaseNote,
    CollaborationNote,
    CollaborationRequest,
    CollaborationTodo,
    ComplaintGroup,
    Customer,
    Department,
    LegalHold,
    Notice,
    RetentionRule,
    Revisit,
    SavedFilter,
)
from cases.models.audit import AuditEntry
from cases.services.retention import fields as plan
from cases.services.retention import legal_hold_set, months_before, retention_sweep
from cases.tasks import retention_sweep_task
from channels.models import InboundMessage
from reporting.models import ImprovementAction, KpiDaySum, WeeklyReview
from tests.factories import CaseFactory, UserFactory

NAME, PHONE, EMAIL = "欧阳娜娜", "13912345678", "nana.ouyang@example.org"
ID_CARD, BANK_CARD = "110101199003078515", "6222021234567890123"
CONTACT_NEEDLES = (PHONE, EMAIL, ID_CARD, BANK_CARD, "139 1234 5678")
NEEDLES = (NAME, *CONTACT_NEEDLES)
AUDIT_TRAIL = ("cases.AuditEntry",)
TEXT_FIELDS = (models.CharField, models.TextField)


def _personal_case(*, name: str = NAME, phone: str = PHONE, email: str = EMAIL,
                   stage: str = Stage.CLOSED) -> Case:
    """A case whose customer's data was copied everywhere staff and systems copy it."""
    case = CaseFactory(
        customer_name=name, phone=phone, email=email, stage=stage, order_ref="SO-2023-778",
        subject=f"{name}的快递丢失",
        description=(f"我是{name}，电话 {phone[:3]} {phone[3:7]} {phone[7:]}，邮箱 {email}，"
                     f"身份证 {ID_CARD}，退款到卡 {BANK_CARD}。"),
    )
    boss = UserFactory(username="lifecycle-boss", role=Role.SUPERVISOR)
    dept = Department.objects.create(code=f"d{case.pk}", name="物流部")
    Case.objects.filter(pk=case.pk).update(location="北京市朝阳区某路1号",
                                           solution=f"已致电{phone}说明")
    CaseNote.objects.create(case=case, kind="contact", author=boss, body=f"客户{name}来电 {phone}",
                            sender=email, external_message_id=f"<m{case.pk}@{email.split('@')[1]}>",
                            created_at=timezone.now())
    CaseAttachment.objects.create(case=case, file=ContentFile(b"receipt", name=f"{name}.pdf"),
                                  original_name=f"{name}-发票.pdf", content_type="application/pdf",
                                  size=7)
    request = CollaborationRequest.objects.create(
        case=case, department=dept, requested_by=boss, ask=f"请联系{name} {phone}",
        created_at=timezone.now(), due_at=timezone.now())
    CollaborationTodo.objects.create(request=request, title=f"回电 {phone}", created_by=boss,
                                     created_at=timezone.now())
    CollaborationNote.objects.create(request=request, author=boss, body=f"已发邮件到 {email}",
                                     created_at=timezone.now())
    Alert.objects.create(recipient=boss, case=case, kind="x", message=f"{name} 投诉超时",
                         created_at=timezone.now())
    Revisit.objects.filter(case=case).update(comment=f"满意，{name}")
    InboundMessage.objects.create(message_id=f"<in{case.pk}.{email}>", outcome="created",
                                  case=case, detail=f"from {email}")
    group = ComplaintGroup.objects.create(key=f"so:{phone}", category=case.category,
                                          matter=f"{name} 等", first_received_at=timezone.now(),
                                          last_received_at=timezone.now(), case_count=1)
    Case.objects.filter(pk=case.pk).update(group=group)
    review = WeeklyReview.objects.create(
        week_start=timezone.localdate() - timedelta(days=7 * (case.pk % 50 + 1)),
        period_start=timezone.now(), period_end=timezone.now(), time_zone="Asia/Shanghai",
        built_at=timezone.now(), data={"overdue": {"cases": [{"id": case.pk,
                                                             "subject": f"{name}的快递丢失"}]}})
    action = ImprovementAction.objects.create(
        review=review, action=f"回访{name}", owner=boss, due_date=timezone.localdate(),
        created_by=boss, progress_note=f"已联系 {email}")
    action.cases.add(case)
    SavedFilter.objects.create(owner=boss, name=f"找{name}", query=f"q={phone}")
    LegalHold.objects.create(case=case, reason=f"{name} 诉讼（已结束）", set_by=boss,
                             set_at=timezone.now(), lifted_at=timezone.now(), lifted_by=boss)
    for target, repr_ in ((case, str(case)), (case.customer, name)):
        LogEntry.objects.create(
            user=boss, content_type=ContentType.objects.get_for_model(target),
            object_id=str(target.pk), object_repr=repr_, action_flag=CHANGE,
            change_message=json.dumps([{"changed": {"fields": [f"phone {phone}"]}}]))
    return case


def _age(case: Case, months: int) -> None:
    """Time travel: the case closed ``months`` months ago."""
    closed = months_before(timezone.now(), months)
    Case.objects.filter(pk=case.pk).update(closed_at=closed)


def _where_found(needles: tuple[str, ...], skip: tuple[str, ...] = ()) -> list[str]:
    """Every text, char and JSON column of every installed model (but ``skip``), searched via
    the ORM."""
    found = []
    for model in apps.get_models():
        if model._meta.label in skip:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, TEXT_FIELDS):
                for needle in needles:
                    if model._default_manager.filter(**{f"{field.name}__icontains": needle}
                                                     ).exists():
                        found.append(f"{model._meta.label}.{field.name}: {needle}")
            elif isinstance(field, models.JSONField):
                for value in model._default_manager.values_list(field.name, flat=True):
                    text = json.dumps(value, ensure_ascii=False)
                    found += [f"{model._meta.label}.{field.name}: {n}" for n in needles
                              if n.lower() in text.lower()]
    return found


def _day_sums() -> list[tuple]:
    return sorted(KpiDaySum.objects.values_list(
        *[f.name for f in KpiDaySum._meta.concrete_fields if f.name != "id"]))


# --- the daily task --------------------------------------------------------------------------
@pytest.mark.django_db
def test_after_the_task_no_personal_data_of_an_aged_case_remains_anywhere(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = str(tmp_path)
    case = _personal_case()
    file_name = CaseAttachment.objects.get(case=case).file.name
    assert (tmp_path / file_name).exists()
    assert len(_where_found(NEEDLES)) > 15  # the search finds what the case spread around
    _age(case, 40)
    call_command("kpi_summaries")
    before = _day_sums()

    with django_capture_on_commit_callbacks(execute=True):
        result = retention_sweep_task()

    assert result["cases"] == 1 and result["customers"] == 1
    assert _where_found(NEEDLES, skip=AUDIT_TRAIL) == []
    # The audit trail cannot be rewritten (hash chain): it must never have held them.
    assert _where_found(CONTACT_NEEDLES) == []
    assert not (tmp_path / file_name).exists()
    case.refresh_from_db()
    assert case.anonymised_at is not None and case.location == "" and case.order_ref == ""
    # What the KPIs read is kept: category, stage, tier, dates, scores.
    assert (case.stage, case.category, case.satisfaction_score) == (
        Stage.CLOSED, Category.DELIVERY, 5)
    call_command("kpi_summaries", "--verify", "2000")
    assert _day_sums() == before


@pytest.mark.django_db
def test_the_audit_trail_never_holds_the_customers_name():
    case = _personal_case()
    _age(case, 40)
    retention_sweep()
    assert _where_found((NAME,)) == []


@pytest.mark.django_db
def test_the_audit_trail_records_each_anonymised_case_and_customer_without_personal_data():
    case = _personal_case()
    _age(case, 40)
    retention_sweep_task()
    entries = AuditEntry.objects.filter(action="anonymise")
    targets = {(e.target_type, e.target_id) for e in entries}
    assert targets == {("cases.Case", str(case.pk)), ("cases.Customer", str(case.customer_id))}
    assert entries.get(target_type="cases.Case").case_id == case.pk
    assert all(e.actor_id is None and e.detail["reason"] == "retention" for e in entries)
    call_command("audit", "verify")


@pytest.mark.django_db
def test_cases_within_retention_or_under_a_legal_hold_are_untouched():
    boss = UserFactory(username="holder", role=Role.SUPERVISOR)
    recent = _personal_case(name="司马相如", phone="13700001111", email="xr@example.net")
    _age(recent, 30)  # the default rule is 36 months
    held = _personal_case(name="诸葛明月", phone="13600002222", email="my@example.net")
    _age(held, 40)
    legal_hold_set(actor=boss, case_id=held.pk, reason="诉讼保全",
                   until=timezone.now() + timedelta(days=30))
    retention_sweep()
    for case in (recent, held):
        case.refresh_from_db()
        assert case.anonymised_at is None and case.customer.name != "****"
    assert _where_found(("13700001111", "my@example.net"))


@pytest.mark.django_db
def test_a_category_rule_overrides_the_default_and_no_rule_anonymises_nothing():
    case = _personal_case()
    _age(case, 14)
    RetentionRule.objects.create(category=Category.DELIVERY, months=12)
    other = _personal_case(name="上官飞燕", phone="13500003333", email="fy@example.net")
    Case.objects.filter(pk=other.pk).update(category=Category.BILLING)
    _age(other, 14)
    assert retention_sweep().cases == 1
    case.refresh_from_db(), other.refresh_from_db()
    assert case.anonymised_at and other.anonymised_at is None
    RetentionRule.objects.all().delete()
    _age(other, 400)
    assert retention_sweep().cases == 0


@pytest.mark.django_db
def test_a_customer_keeps_their_contact_data_while_one_of_their_cases_is_within_retention():
    old = _personal_case()
    newer = CaseFactory(customer_name=NAME, phone=PHONE, email=EMAIL, stage=Stage.CLOSED)
    assert newer.customer_id == old.customer_id
    _age(old, 40)
    _age(newer, 2)
    retention_sweep()
    customer = Customer.objects.get(pk=old.customer_id)
    assert customer.anonymised_at is None and customer.phone == PHONE
    old.refresh_from_db()
    assert old.anonymised_at is not None and NAME not in old.subject
    _age(newer, 40)
    assert retention_sweep().customers == 1
    customer.refresh_from_db()
    assert (customer.name, customer.phone, customer.email) == ("****", "", "")


@pytest.mark.django_db
def test_an_open_case_is_never_anonymised_whatever_its_dates():
    case = CaseFactory(stage=Stage.IN_PROGRESS)
    Case.objects.filter(pk=case.pk).update(received_at=timezone.now() - timedelta(days=2000))
    assert retention_sweep().cases == 0


@pytest.mark.django_db
def test_the_sweep_is_bulk_its_queries_do_not_grow_with_the_cases():
    def run(n: int, prefix: str) -> int:
        cases = [CaseFactory(stage=Stage.CLOSED, phone=f"{prefix}{i:05d}",
                             email=f"{prefix}{i}@example.com") for i in range(n)]
        for case in cases:
            _age(case, 40)
        with CaptureQueriesContext(connection) as queries:
            assert retention_sweep(batch_size=100).cases == n
        return len(queries)

    small, large = run(2, "137000"), run(12, "137999")
    assert large == small, (small, large)


@pytest.mark.django_db
def test_batches_commit_separately_and_a_second_run_finds_nothing():
    cases = [CaseFactory(stage=Stage.CLOSED) for _ in range(5)]
    for case in cases:
        _age(case, 40)
    assert retention_sweep(batch_size=2).cases == 5
    assert retention_sweep().cases == 0
    assert Notice.objects.filter(case__in=cases).exclude(recipient="").count() == 0


# --- the field plan ---------------------------------------------------------------------------
def test_every_text_column_of_the_apps_is_anonymised_or_kept_for_a_stated_reason():
    planned: dict[str, set[str]] = {"cases.Case": set(plan.CASE_FIELDS),
                                    "cases.Customer": set(plan.CUSTOMER_FIELDS)}
    for part in plan.PARTS:
        planned.setdefault(part.model, set()).update(part.fields)
    missing = []
    for app in ("cases", "channels", "reporting", "webhooks"):
        for model in apps.get_app_config(app).get_models():
            label = model._meta.label
            if label in plan.DELETED:
                continue
            for field in model._meta.concrete_fields:
                if not isinstance(field, (*TEXT_FIELDS, models.JSONField)) or field.choices:
                    continue
                if field.name in planned.get(label, ()) or field.name in plan.KEPT.get(label, {}):
                    continue
                missing.append(f"{label}.{field.name}")
    assert missing == []


def test_months_before_keeps_to_the_calendar():
    moment = datetime(2026, 3, 31, 12, tzinfo=UTC)
    assert months_before(moment, 1).date().isoformat() == "2026-02-28"
    assert months_before(moment, 36).date().isoformat() == "2023-03-31"


@pytest.mark.django_db
def test_compensation_amounts_stay_and_their_text_goes():
    case = CaseFactory(customer_name=NAME, phone=PHONE, email=EMAIL, stage=Stage.CLOSED,
                       compensation=Decimal("50"))
    case.compensations.update(description=f"给{NAME}的券")
    _age(case, 40)
    retention_sweep()
    compensation = case.compensations.get()
    assert compensation.amount == Decimal("50") and NAME not in compensation.description


@pytest.mark.django_db
def test_an_anonymised_case_cannot_be_reopened(supervisor):
    from cases import services

    case = CaseFactory(stage=Stage.CLOSED)
    _age(case, 40)
    retention_sweep()
    with pytest.raises(services.ActionNotAllowed, match="anonymised"):
        services.case_reopen(actor=supervisor, case_id=case.pk, reason="客户再次来电")
    case.refresh_from_db()
    assert case.stage == Stage.CLOSED


def test_the_sweep_runs_nightly_on_the_sweeps_queue(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["retention-sweep"]
    assert entry["task"] == "cases.tasks.retention_sweep_task"
    assert settings.CELERY_TASK_ROUTES[entry["task"]] == {"queue": "sweeps"}
    assert entry["schedule"].hour == {2}


@pytest.mark.django_db
def test_shared_tables_lose_only_the_anonymised_customers_data():
    """Saved filters and weekly reviews belong to no case: another customer's phone in them
    stays (it is not past retention), the anonymised case's subject is replaced."""
    case = _personal_case()
    other_filter = SavedFilter.objects.create(owner=UserFactory(username="f-owner"), name="x",
                                              query="q=13600009999")
    _age(case, 40)
    retention_sweep()
    other_filter.refresh_from_db()
    assert other_filter.query == "q=13600009999"
    case.refresh_from_db()
    rows = [r for review in WeeklyReview.objects.all() for r in review.data["overdue"]["cases"]]
    assert {r["subject"] for r in rows if r["id"] == case.pk} == {case.subject}


@pytest.mark.django_db
def test_the_anonymisation_time_is_stored_as_a_time():
    case = CaseFactory(stage=Stage.CLOSED)
    _age(case, 40)
    before = timezone.now()
    retention_sweep()
    case.refresh_from_db()
    customer = Customer.objects.get(pk=case.customer_id)
    assert before - timedelta(seconds=1) <= case.anonymised_at <= timezone.now()
    assert customer.anonymised_at == case.anonymised_at


@pytest.mark.django_db
def test_the_command_counts_per_category_in_a_dry_run_and_then_anonymises():
    from io import StringIO

    case = CaseFactory(stage=Stage.CLOSED)
    _age(case, 40)
    out = StringIO()
    call_command("retention_sweep", "--dry-run", stdout=out)
    assert "delivery: 1" in out.getvalue() and "1 cases past retention" in out.getvalue()
    case.refresh_from_db()
    assert case.anonymised_at is None
    call_command("retention_sweep", stdout=out)
    assert "1 cases and 1 customers anonymised" in out.getvalue()
