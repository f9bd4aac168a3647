"""The 48-hour satisfaction revisit 满意度回访.

When feedback is given, ``case_give_feedback`` stores the revisit's due time (a Revisit row and
the REVISIT clock); nothing waits on the broker. ``revisit_open_due`` (run every minute by
beat) opens the revisits that fell due (``Case.revisit_due_at``): the case moves to "revisit",
the customer gets a survey link (signed, single use, expiring) and the owner a phone-call task
(an alert and an email). The REVISIT clock, started at feedback, keeps running: it gives the
survey and the call a further day (clocks.REVISIT_ANSWER_WINDOW) before the revisit counts as
missed. The survey and the phone call race; ``case_record_revisit`` takes the first answer
and refuses the second politely.

Survey links carry ``<revisit id>.<nonce>`` signed with a timestamp (django.core.signing): a
changed character fails the signature, an old link fails the age check, and the nonce ties the
link to the revisit round it was made for.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases.choices import Clock, RevisitMethod, Stage
from cases.ids import parse_id
from cases.models import Alert, Case, CaseDeadline, Revisit, User
from cases.models.notices import NoticeKind
from cases.services import clocks
from cases.services.errors import ActionNotAllowed, DomainError, InvalidInput
from cases.services.lifecycle import case_record_revisit
from cases.services.notices import notice_queue
from cases.services.outbox import staff_notice_build, staff_notices_queue
from cases.services.transitions import lock_case, run_case_transition, save_case

logger = logging.getLogger(__name__)

ALERT_REVISIT_CALL = "revisit_call"
ALERT_FOLLOW_UP = "follow_up_needed"
_SALT = "cases.survey"
COMMENT_MAX_LENGTH = 2000


class SurveyLinkInvalid(DomainError):
    """The link was changed, or belongs to no revisit we know."""


class SurveyLinkExpired(DomainError):
    """The link is older than SURVEY_TOKEN_MAX_AGE."""


class SurveyAlreadyAnswered(DomainError):
    """The revisit was answered already (by this link or by phone)."""


# --- tokens ------------------------------------------------------------------------------------
def survey_token_make(revisit: Revisit) -> str:
    return signing.TimestampSigner(salt=_SALT).sign(f"{revisit.pk}.{revisit.token_nonce}")


def survey_url(token: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("survey:answer", args=[token])


def _token_read(token: str) -> tuple[int, str]:
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(
            token, max_age=timedelta(seconds=settings.SURVEY_TOKEN_MAX_AGE)
        )
    except signing.SignatureExpired as exc:
        raise SurveyLinkExpired(
            _("This survey link has expired. Thank you all the same; if you would still like "
              "to tell us something, reply to our message or call our hotline.")
        ) from exc
    except signing.BadSignature as exc:
        raise _invalid() from exc
    raw_id, _dot, nonce = value.partition(".")
    revisit_id = parse_id(raw_id)
    if revisit_id is None or not nonce:
        raise _invalid()
    return revisit_id, nonce


def _invalid() -> SurveyLinkInvalid:
    return SurveyLinkInvalid(
        _("This survey link is not valid. Please open the link exactly as we sent it.")
    )


def _answered() -> SurveyAlreadyAnswered:
    return SurveyAlreadyAnswered(
        _("This survey has already been answered. Thank you for your feedback!")
    )


def survey_revisit_for_token(token: str, *, for_update: bool = False) -> Revisit:
    """The open revisit a survey link belongs to, with its case and customer.

    Raises SurveyLinkInvalid (tampered or unknown), SurveyLinkExpired, or SurveyAlreadyAnswered
    (answered by link or phone, or the case has moved on)."""
    revisit_id, nonce = _token_read(token)
    queryset = Revisit.objects.select_related("case", "case__customer")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    revisit = queryset.filter(pk=revisit_id).first()
    if revisit is None or not revisit.token_nonce or not secrets.compare_digest(
        revisit.token_nonce, nonce
    ):
        raise _invalid()
    latest_round = Revisit.objects.filter(case_id=revisit.case_id).order_by("-round").values_list(
        "round", flat=True
    ).first()
    if revisit.answered_at is not None or revisit.round != latest_round or (
        revisit.case.stage not in (Stage.FEEDBACK_GIVEN, Stage.REVISIT)
    ):
        raise _answered()
    return revisit


def survey_case_for_token(token: str) -> Case:
    """The case a survey link was made for, whether or not the survey was answered (the
    review request on the survey page). Raises SurveyLinkInvalid or SurveyLinkExpired."""
    revisit_id, nonce = _token_read(token)
    revisit = Revisit.objects.select_related("case", "case__customer").filter(
        pk=revisit_id).first()
    if revisit is None or not revisit.token_nonce or not secrets.compare_digest(
        revisit.token_nonce, nonce
    ):
        raise _invalid()
    return revisit.case


# --- opening due revisits ----------------------------------------------------------------------
@dataclass
class RevisitSweepResult:
    opened: int = 0
    skipped: int = 0


def revisit_open_due(*, now: datetime | None = None, limit: int = 500) -> RevisitSweepResult:
    """Open every revisit that fell due. Cases are selected by stage and due time (the stage
    index keeps the cost to cases waiting for their revisit, not the whole history). Each case
    is opened in its own transaction under the case lock; a case already opened (another
    sweep) or answered by phone before its time is skipped, so concurrent runs are safe."""
    now = now or timezone.now()
    case_ids = list(
        Case.objects.filter(stage=Stage.FEEDBACK_GIVEN, revisit_due_at__lte=now)
        .order_by("revisit_due_at").values_list("id", flat=True)[:limit]
    )
    result = RevisitSweepResult()
    for case_id in case_ids:
        if revisit_open(case_id=case_id, now=now):
            result.opened += 1
        else:
            result.skipped += 1
    if result.opened:
        logger.info("revisit sweep opened %d revisits", result.opened)
    return result


@transaction.atomic
def revisit_open(*, case_id: int, now: datetime | None = None) -> bool:
    """Open one case's due revisit (feedback given -> revisit) as the system.

    Side effects: survey notice to the customer (after commit), phone-call alert and email to
    the owner. Returns False when there is nothing to open."""
    now = now or timezone.now()
    case = lock_case(case_id)
    if case.stage != Stage.FEEDBACK_GIVEN:
        return False
    revisit = case.revisits.select_for_update().order_by("-round").first()
    if revisit is None or revisit.opened_at is not None or revisit.answered_at is not None:
        return False
    if revisit.due_at > now:
        return False
    run_case_transition(case, "open_revisit", None,
                        note=_("Survey link sent; phone call task for the owner."))
    revisit.opened_at = now
    revisit.token_nonce = secrets.token_urlsafe(12)
    revisit.save(update_fields=["opened_at", "token_nonce"])
    row = CaseDeadline.objects.filter(case=case, clock=Clock.REVISIT,
                                      stopped_at__isnull=True).order_by("-started_at").first()
    expires = timezone.localtime(now + timedelta(seconds=settings.SURVEY_TOKEN_MAX_AGE))
    notice_queue(
        case=case, kind=NoticeKind.SURVEY, key=f"round{revisit.round}",
        context={"survey_url": survey_url(survey_token_make(revisit)),
                 "expires_on": expires.date().isoformat()},
    )
    _tell_owner(
        case, kind=ALERT_REVISIT_CALL, deadline=row, now=now, key=f"revisit:{revisit.pk}",
        text=lambda: _("%(reference)s: satisfaction revisit due. Call the customer and record "
                       "the score, unless they answer the survey first.")
        % {"reference": case.reference},
    )
    clocks.refresh_case_sla(case, now)
    save_case(case)
    return True


def _tell_owner(
    case: Case, *, kind: str, deadline: CaseDeadline | None, now: datetime, key: str, text,
) -> None:
    """An in-app alert and an email for the case's owner (or handler when it has no owner)."""
    user_id = case.owner_id or case.handler_id
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None:
        return
    with translation.override(user.language or settings.LANGUAGE_CODE):
        message = str(text())[:300]
    Alert.objects.bulk_create(
        [Alert(recipient=user, case=case, deadline=deadline, kind=kind, message=message,
               created_at=now)],
        ignore_conflicts=True,
    )
    staff_notices_queue([staff_notice_build(case_id=case.pk, reference=case.reference,
                                            user=user, key=key, message=message)])


# --- answering by survey -----------------------------------------------------------------------
@transaction.atomic
def survey_answer(*, token: str, score: int, comment: str = "") -> Case:
    """Record the customer's survey answer. The first answer counts (survey or phone):
    a second raises SurveyAlreadyAnswered. Satisfied (4-5) closes the case; dissatisfied opens
    the second follow-up (due within 48 h) and tells the owner."""
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise InvalidInput(_("Choose a score from 1 to 5."), field="score")
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise InvalidInput(
            _("Please keep the comment under %(n)d characters.") % {"n": COMMENT_MAX_LENGTH},
            field="comment",
        )
    revisit_id, _nonce = _token_read(token)
    case_id = Revisit.objects.filter(pk=revisit_id).values_list("case_id", flat=True).first()
    if case_id is None:
        raise _invalid()
    lock_case(case_id)  # the phone call and the survey serialise on the case row
    survey_revisit_for_token(token, for_update=True)
    try:
        case = case_record_revisit(actor=None, case_id=case_id, score=score, comment=comment,
                                   method=RevisitMethod.SURVEY)
    except ActionNotAllowed as exc:
        raise _answered() from exc
    if case.stage == Stage.FOLLOW_UP:
        row = CaseDeadline.objects.filter(case=case, clock=Clock.FOLLOW_UP,
                                          stopped_at__isnull=True).first()
        _tell_owner(
            case, kind=ALERT_FOLLOW_UP, deadline=row, now=timezone.now(),
            key=f"followup:{revisit_id}",
            text=lambda: _("%(reference)s: the customer is dissatisfied (score %(score)s). "
                           "Second follow-up due within 48 hours.")
            % {"reference": case.reference, "score": score},
        )
    return case
