"""The notice outbox: dispatching, sending exactly once, retrying, recovering.

A notice row is written in the same transaction as the change that causes it (see
``notice_queue`` and ``staff_notice_queue``) and dispatched to a worker after commit. The row,
not the broker message, is the source of truth: messages may be lost (filesystem broker, a
killed worker) or duplicated (Redis redelivery, the sweep re-dispatching); the row decides.

How a send goes (``notice_send``):
1. Claim, in a short transaction holding the row lock: only a row that is ``queued`` and due,
   or ``sending`` with an expired lease, is claimed; it becomes ``sending`` with
   ``sending_started_at`` = now (the lease) and ``attempts`` + 1. Every other duplicate message
   finds the row sent, failed, not yet due, or leased, and does nothing.
2. Check the idempotency key: if an earlier attempt may have reached the provider (it was
   claimed before and never recorded an outcome, e.g. its worker was SIGKILLed after the
   gateway accepted), the backend is asked ``was_delivered(key)`` first; if it says yes, the
   row is marked sent without sending again. A row abandoned in ``sending`` whose backend
   cannot answer (plain SMTP, or a gateway answering "unknown") is not sent again blindly: it
   becomes ``uncertain`` and waits for a person (``notice_resend`` / ``notice_mark_delivered``).
3. Deliver, outside any transaction (no row lock held during a slow network call), with the
   idempotency key handed to the provider (client message id / Message-ID header).
4. Record the outcome, fenced on (status=sending, attempts=this attempt): sent; or queued
   again with exponential backoff; or failed after OUTBOX_MAX_ATTEMPTS or a permanent error.

Where at-least-once meets at-most-once: everything before the provider call is transactional
and everything after it is recorded; the one unrecorded window is between the provider
accepting the message and our commit in step 4. A crash there leaves the row ``sending``; after
the lease the redispatch sweep hands it to a worker, which resolves it by step 2. Backends
that can answer ``was_delivered`` (our file backends; SMS/WeChat gateways with client message
ids) are therefore exactly-once. Plain SMTP cannot be asked, so an e-mail abandoned in that
window is held ``uncertain`` rather than resent or dropped: a person checks (the mail log, the
customer) and sends it again or marks it delivered; a resend carries the same Message-ID,
which mail systems use to fold duplicates. The redispatch sweep never touches uncertain rows.

The lease must outlast the send task's hard time limit: a row whose lease expired cannot still
be in flight in a live worker, because that worker's task was killed at the time limit.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.choices import ContactChannel
from cases.models import Notice, User
from cases.models.notices import NoticeKind, NoticeStatus
from cases.notice_backends import PermanentDeliveryError, backend_for, delivery_check
from cases.notice_texts import TemplateCache, render_notice
from cases.services.errors import ActionForbidden, ActionNotAllowed

logger = logging.getLogger(__name__)

# Small clock differences between processes must not make a due retry look early.
_CLOCK_TOLERANCE = timedelta(seconds=2)


@dataclass(frozen=True)
class SendOutcome:
    status: str  # sent | already_delivered | retry | failed | skipped | uncertain
    retry_in: int | None = None
    reason: str = ""


# --- dispatch ----------------------------------------------------------------------------------
def notice_dispatch(notice_ids: Iterable[int]) -> int:
    """Hand notices to the workers now. Call it after commit (``notice_dispatch_on_commit``).

    A broker that is down does not fail the caller: the row stays queued and the redispatch
    sweep sends it once the broker is back. Returns how many messages were published."""
    from kombu.exceptions import OperationalError

    from cases.tasks import send_notice_task

    published = 0
    for notice_id in notice_ids:
        try:
            send_notice_task.delay(notice_id)
            published += 1
        except (OperationalError, ConnectionError, OSError) as exc:
            logger.warning("broker unavailable, notice %s left for the redispatch sweep: %s",
                           notice_id, type(exc).__name__)
            break
    return published


def notice_dispatch_on_commit(notice_ids: list[int]) -> None:
    """Dispatch the notices once the current transaction commits (none if it rolls back)."""
    if notice_ids:
        ids = list(notice_ids)
        transaction.on_commit(lambda: notice_dispatch(ids))


def backoff_seconds(attempt: int) -> int:
    """Exponential backoff with jitter: base, 2 x base, 4 x base, ... capped."""
    base = settings.OUTBOX_BACKOFF_SECONDS
    delay = min(base * 2 ** max(attempt - 1, 0), settings.OUTBOX_BACKOFF_MAX_SECONDS)
    return int(delay + random.uniform(0, delay * 0.2))  # noqa: S311 - jitter, not security


# --- sending -----------------------------------------------------------------------------------
def _claim(notice_id: int, now: datetime) -> tuple[Notice | None, bool, str]:
    """(notice, uncertain, reason). ``uncertain``: an earlier attempt may have reached the
    provider without our recording it. An abandoned row whose backend cannot be asked is
    held ``uncertain`` here instead of being claimed (reason "uncertain")."""
    lease = timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    with transaction.atomic():
        notice = Notice.objects.select_for_update().filter(pk=notice_id).first()
        if notice is None:
            return None, False, "missing"
        if notice.status in (NoticeStatus.SENT, NoticeStatus.FAILED, NoticeStatus.UNCERTAIN):
            return None, False, notice.status
        if notice.status == NoticeStatus.SENDING and (
            notice.sending_started_at is not None and notice.sending_started_at > now - lease
        ):
            return None, False, "leased"
        if notice.status == NoticeStatus.QUEUED and notice.next_attempt_at is not None and (
            notice.next_attempt_at > now + _CLOCK_TOLERANCE
        ):
            return None, False, "not due"
        if notice.status == NoticeStatus.SENDING and (
            delivery_check(backend_for(notice.channel)) is None
        ):
            _hold_uncertain(notice, "abandoned mid-send; the transport cannot be asked")
            return None, False, NoticeStatus.UNCERTAIN
        # Any earlier claim may have reached the provider (a timeout after the gateway
        # accepted, a worker killed before recording): the backend is asked before resending.
        uncertain = notice.sending_started_at is not None
        notice.status = NoticeStatus.SENDING
        notice.attempts += 1
        notice.sending_started_at = now
        notice.save(update_fields=["status", "attempts", "sending_started_at"])
        return notice, uncertain, ""


def _hold_uncertain(notice: Notice, why: str) -> None:
    """Park a notice (row lock held by the caller) for a person; the sweep skips it."""
    notice.status = NoticeStatus.UNCERTAIN
    notice.last_error = f"[uncertain] {why}"[:2000]
    notice.save(update_fields=["status", "last_error"])
    logger.warning("notice %s held as uncertain: %s", notice.pk, why)


def _finish(notice: Notice, **fields: Any) -> bool:
    """Record an attempt's outcome, fenced on this attempt still owning the row."""
    return bool(
        Notice.objects.filter(
            pk=notice.pk, status=NoticeStatus.SENDING, attempts=notice.attempts
        ).update(**fields)
    )


def _describe(exc: BaseException) -> str:
    # Exception text may carry an address from the provider; it stays in the row (staff see
    # it in the admin), never in logs.
    return f"{type(exc).__name__}: {exc}"[:2000]


def notice_send(*, notice_id: int, now: datetime | None = None) -> SendOutcome:
    """Send one notice if (and only if) this call wins the claim. Safe to call any number of
    times, concurrently, for the same notice. See the module docstring for the protocol."""
    now = now or timezone.now()
    notice, uncertain, reason = _claim(notice_id, now)
    if notice is None:
        return SendOutcome("uncertain" if reason == NoticeStatus.UNCERTAIN else "skipped",
                           reason=reason)
    backend = backend_for(notice.channel)
    was_delivered = delivery_check(backend)
    if uncertain and was_delivered is not None:
        try:
            delivered = was_delivered(notice.idempotency_key)
        except Exception as exc:  # noqa: BLE001 - cannot tell: do not risk a duplicate now
            return _retry_or_fail(notice, now, f"delivery check failed: {_describe(exc)}")
        if delivered:
            _finish(notice, status=NoticeStatus.SENT, sent_at=timezone.now())
            logger.info("notice %s was delivered by an earlier attempt", notice.pk)
            return SendOutcome("already_delivered")
        if delivered is None:  # the gateway cannot tell: a person decides
            _finish(notice, status=NoticeStatus.UNCERTAIN,
                    last_error="[uncertain] the gateway cannot tell whether it was delivered")
            return SendOutcome("uncertain", reason="unknown to the gateway")
    try:
        backend.send(notice)
    except PermanentDeliveryError as exc:
        _finish(notice, status=NoticeStatus.FAILED, last_error=_describe(exc))
        logger.warning("notice %s failed permanently (%s)", notice.pk, type(exc).__name__)
        return SendOutcome("failed", reason="permanent")
    except Exception as exc:  # noqa: BLE001 - transient: retried with backoff
        return _retry_or_fail(notice, now, _describe(exc))
    _finish(notice, status=NoticeStatus.SENT, sent_at=timezone.now())
    return SendOutcome("sent")


def _retry_or_fail(notice: Notice, now: datetime, error: str) -> SendOutcome:
    if notice.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        _finish(notice, status=NoticeStatus.FAILED, last_error=error)
        logger.warning("notice %s failed after %s attempts", notice.pk, notice.attempts)
        return SendOutcome("failed", reason="attempts exhausted")
    delay = backoff_seconds(notice.attempts)
    _finish(notice, status=NoticeStatus.QUEUED, last_error=error,
            next_attempt_at=now + timedelta(seconds=delay))
    logger.info("notice %s attempt %s failed; retry in %ss", notice.pk, notice.attempts, delay)
    return SendOutcome("retry", retry_in=delay)


# --- recovery ----------------------------------------------------------------------------------
def outbox_redispatch(*, now: datetime | None = None, limit: int = 1000) -> int:
    """The periodic safety net: dispatch again every notice that should be moving and is not.

    - ``queued`` whose attempt was due more than OUTBOX_REDISPATCH_AFTER_SECONDS ago (its
      message was lost); its ``next_attempt_at`` becomes now, so it is picked again only if
      another interval passes without progress;
    - ``sending`` whose lease expired (its worker died mid-send); the claim re-takes it and
      checks the idempotency key before sending.
    Duplicated messages are harmless (the claim decides), so racing the normal dispatch is
    fine; rows locked by a running claim are skipped. Returns the number dispatched."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.OUTBOX_REDISPATCH_AFTER_SECONDS)
    lease_cutoff = now - timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    with transaction.atomic():
        queued = list(
            Notice.objects.filter(status=NoticeStatus.QUEUED)
            .filter(Q(next_attempt_at__lte=stale)
                    | Q(next_attempt_at__isnull=True, created_at__lte=stale))
            .order_by("id").select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        abandoned = list(
            Notice.objects.filter(status=NoticeStatus.SENDING, sending_started_at__lte=lease_cutoff)
            .order_by("id").select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        if queued:
            Notice.objects.filter(id__in=queued, status=NoticeStatus.QUEUED).update(
                next_attempt_at=now
            )
        ids = queued + abandoned
        notice_dispatch_on_commit(ids)
    if ids:
        logger.info("outbox sweep re-dispatched %d queued and %d abandoned notices",
                    len(queued), len(abandoned))
    return len(ids)


_DECIDE_PERMISSION = "cases.decide_notice"


def _lock_for_decision(*, actor: User, notice_id: int, authorised: bool = False) -> Notice:
    if not authorised and not actor.has_perm(_DECIDE_PERMISSION):
        raise ActionForbidden(_("You may not send notices again or mark them as delivered."))
    notice = Notice.objects.select_for_update().filter(pk=notice_id).first()
    if notice is None:
        raise ActionNotAllowed(_("This notice does not exist."))
    return notice


@transaction.atomic
def notice_resend(*, actor: User, notice_id: int, authorised: bool = False) -> Notice:
    """An operator sends a failed or uncertain notice again (admin action): it gets a fresh
    budget of attempts. Needs ``cases.decide_notice`` unless the caller checked a narrower
    right itself (``authorised``, e.g. the author of a reply). A sent notice is never
    re-sent; one in flight is left to finish. Records who and when; dispatches after commit."""
    notice = _lock_for_decision(actor=actor, notice_id=notice_id, authorised=authorised)
    if notice.status not in (NoticeStatus.FAILED, NoticeStatus.UNCERTAIN):
        raise ActionNotAllowed(
            _("Only a failed or uncertain notice can be sent again (this one is “%(status)s”).")
            % {"status": notice.get_status_display()}
        )
    now = timezone.now()
    notice.status = NoticeStatus.QUEUED
    notice.attempts = 0
    notice.next_attempt_at = now
    notice.decided_by, notice.decided_at = actor, now
    # The last error stays visible until the next attempt; the operator is recorded.
    notice.last_error = f"[re-sent by {actor}] {notice.last_error}"[:2000]
    notice.save(update_fields=["status", "attempts", "next_attempt_at", "last_error",
                               "decided_by", "decided_at"])
    notice_dispatch_on_commit([notice.pk])
    return notice


@transaction.atomic
def notice_mark_delivered(*, actor: User, notice_id: int) -> Notice:
    """An operator confirms that an uncertain notice did reach the customer (admin action):
    it becomes sent and is never sent again. Needs ``cases.decide_notice``; records who and
    when. Any other status is refused."""
    notice = _lock_for_decision(actor=actor, notice_id=notice_id)
    if notice.status != NoticeStatus.UNCERTAIN:
        raise ActionNotAllowed(
            _("Only an uncertain notice can be marked as delivered (this one is “%(status)s”).")
            % {"status": notice.get_status_display()}
        )
    now = timezone.now()
    notice.status = NoticeStatus.SENT
    notice.sent_at = notice.sending_started_at or now
    notice.decided_by, notice.decided_at = actor, now
    notice.last_error = f"[marked delivered by {actor}] {notice.last_error}"[:2000]
    notice.save(update_fields=["status", "sent_at", "last_error", "decided_by", "decided_at"])
    return notice


# --- staff notices -----------------------------------------------------------------------------
def staff_language(user: User) -> str:
    return user.language or settings.LANGUAGE_CODE


def case_desk_url(case_id: int | None) -> str:
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    return f"{base}/desk/cases/{case_id}/" if case_id else f"{base}/desk/"


def staff_notice_build(
    *, case_id: int | None, reference: str, user: User, key: str, message: str,
    cache: TemplateCache | None = None, now: datetime | None = None,
) -> Notice | None:
    """An unsaved staff-alert email for ``user`` (None when they have no email address).
    ``key`` makes the intent unique, e.g. ``deadline:<row>:breached``. Takes the case's id and
    reference rather than the case, so a sweep can build thousands without loading cases."""
    if not user.email:
        return None
    language = staff_language(user)
    context = {"reference": reference, "message": message, "recipient_name": str(user),
               "case_url": case_desk_url(case_id)}
    subject, body = render_notice(kind=NoticeKind.STAFF_ALERT, channel=ContactChannel.EMAIL,
                                  language=language, context=context, cache=cache)
    return Notice(
        case_id=case_id, kind=NoticeKind.STAFF_ALERT, channel=ContactChannel.EMAIL,
        recipient=user.email, language=language, subject=subject[:200], body=body,
        context=context, idempotency_key=f"{NoticeKind.STAFF_ALERT}:{user.pk}:{key}"[:120],
        created_at=now or timezone.now(),
    )


def staff_notices_queue(notices: list[Notice]) -> list[int]:
    """Insert staff notices in the caller's transaction (an intent already queued is
    skipped, so a repeated sweep queues nothing new) and dispatch the new ones after commit."""
    notices = [n for n in notices if n is not None]
    if not notices:
        return []
    keys = [n.idempotency_key for n in notices]
    existing = set(
        Notice.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)
    )
    fresh = [n for n in notices if n.idempotency_key not in existing]
    Notice.objects.bulk_create(fresh, ignore_conflicts=True, batch_size=2000)
    ids = list(
        Notice.objects.filter(
            idempotency_key__in=[n.idempotency_key for n in fresh], status=NoticeStatus.QUEUED,
            attempts=0,
        ).values_list("id", flat=True)
    )
    notice_dispatch_on_commit(ids)
    return ids
