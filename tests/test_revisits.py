"""The 48-hour satisfaction revisit: due time stored at feedback, opened by the sweep (survey
link to the customer, phone-call task to the owner), first answer wins, outcomes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from cases import services
from cases.choices import Clock, RevisitMethod, Stage
from cases.models import Alert, CaseDeadline, CaseTransition, Notice, Revisit
from cases.models.notices import NoticeKind
from cases.services.revisits import (
    ALERT_FOLLOW_UP,
    ALERT_REVISIT_CALL,
    SurveyAlreadyAnswered,
    revisit_open_due,
    survey_answer,
)
from tests.factories import CaseFactory, advance

pytestmark = pytest.mark.django_db


@pytest.fixture
def fed_back(frontline):
    """A case whose feedback was just given, owned by ``frontline``."""
    return advance(CaseFactory(actor=frontline), Stage.FEEDBACK_GIVEN)


def _revisit(case) -> Revisit:
    return case.revisits.get()


def _open(case):
    with time_machine.travel(_revisit(case).due_at, tick=False):
        result = revisit_open_due()
    case.refresh_from_db()
    return result


def _token(case) -> str:
    url = Notice.objects.get(case=case, kind=NoticeKind.SURVEY).context["survey_url"]
    return url.rstrip("/").rsplit("/", 1)[1]


def test_feedback_stores_the_revisit_due_time_and_schedules_nothing_on_the_broker(
    frontline, django_capture_on_commit_callbacks,
):
    case = advance(CaseFactory(actor=frontline), Stage.RESOLVED)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.case_give_feedback(actor=frontline, case_id=case.pk, message="已补发。",
                                    preventive_measures="更换物流。")
    case.refresh_from_db()
    revisit = _revisit(case)
    assert revisit.due_at == case.feedback_given_at + timedelta(hours=48)
    assert case.revisit_due_at == revisit.due_at
    assert len(callbacks) == 1  # only the feedback notice's dispatch; no countdown task


def test_nothing_opens_before_the_due_time(fed_back):
    with time_machine.travel(_revisit(fed_back).due_at - timedelta(minutes=1), tick=False):
        assert revisit_open_due().opened == 0
    fed_back.refresh_from_db()
    assert fed_back.stage == Stage.FEEDBACK_GIVEN


def test_a_due_revisit_opens_with_survey_link_and_a_call_task(
    fed_back, frontline, django_capture_on_commit_callbacks,
):
    due = _revisit(fed_back).due_at
    with time_machine.travel(due, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert revisit_open_due().opened == 1
    fed_back.refresh_from_db()
    revisit = _revisit(fed_back)
    assert fed_back.stage == Stage.REVISIT and revisit.opened_at == due
    log = CaseTransition.objects.filter(case=fed_back, name="open_revisit").get()
    assert log.actor is None
    survey = Notice.objects.get(case=fed_back, kind=NoticeKind.SURVEY)
    assert survey.status == "sent" and "/survey/" in survey.context["survey_url"]
    assert any(survey.context["survey_url"] in m.body for m in mail.outbox)
    call = Alert.objects.get(case=fed_back, kind=ALERT_REVISIT_CALL)
    assert call.recipient == frontline and fed_back.reference in call.message
    assert any(m.to == [frontline.email] for m in mail.outbox)
    clock = CaseDeadline.objects.get(case=fed_back, clock=Clock.REVISIT, stopped_at__isnull=True)
    assert call.deadline == clock and clock.due_at == due + timedelta(hours=24)


def test_opening_is_idempotent(fed_back):
    assert _open(fed_back).opened == 1
    with time_machine.travel(_revisit(fed_back).due_at + timedelta(minutes=5), tick=False):
        assert revisit_open_due().opened == 0
    assert Notice.objects.filter(case=fed_back, kind=NoticeKind.SURVEY).count() == 1
    assert Alert.objects.filter(case=fed_back, kind=ALERT_REVISIT_CALL).count() == 1


def test_a_revisit_answered_by_phone_before_its_time_is_not_opened(fed_back, frontline):
    services.case_record_revisit(actor=frontline, case_id=fed_back.pk, score=5)
    assert _open(fed_back).opened == 0
    assert fed_back.stage == Stage.CLOSED
    assert not Notice.objects.filter(case=fed_back, kind=NoticeKind.SURVEY).exists()


def test_satisfied_survey_answer_closes_the_case(fed_back):
    _open(fed_back)
    case = survey_answer(token=_token(fed_back), score=4, comment="很好")
    assert case.stage == Stage.CLOSED and case.satisfied and case.satisfaction_score == 4
    revisit = _revisit(fed_back)
    assert revisit.method == RevisitMethod.SURVEY and revisit.answered_by is None
    assert revisit.comment == "很好"


def test_dissatisfied_survey_answer_opens_the_follow_up_due_in_48_hours(fed_back, frontline):
    _open(fed_back)
    case = survey_answer(token=_token(fed_back), score=2, comment="还是没收到")
    assert case.stage == Stage.FOLLOW_UP and case.satisfied is False
    row = CaseDeadline.objects.get(case=case, clock=Clock.FOLLOW_UP, stopped_at__isnull=True)
    assert row.due_at - row.started_at == timedelta(hours=48)
    alert = Alert.objects.get(case=case, kind=ALERT_FOLLOW_UP)
    assert alert.recipient == frontline


def test_survey_first_then_the_phone_call_is_refused_politely(fed_back, frontline):
    _open(fed_back)
    survey_answer(token=_token(fed_back), score=5)
    with pytest.raises(services.ActionNotAllowed, match="already been answered"):
        services.case_record_revisit(actor=frontline, case_id=fed_back.pk, score=3)
    assert _revisit(fed_back).score == 5


def test_phone_call_first_then_the_survey_is_refused_politely(fed_back, frontline):
    _open(fed_back)
    token = _token(fed_back)
    services.case_record_revisit(actor=frontline, case_id=fed_back.pk, score=3,
                                 method=RevisitMethod.PHONE)
    with pytest.raises(SurveyAlreadyAnswered, match="already been answered"):
        survey_answer(token=token, score=5)
    revisit = _revisit(fed_back)
    assert revisit.method == RevisitMethod.PHONE and revisit.score == 3
