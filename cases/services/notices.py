"""Queueing customer notices into the outbox (sending lives in ``cases.tasks``)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from cases.choices import ContactChannel
from cases.models import Case, Customer, Notice
from cases.models.notices import NoticeKind
from cases.notice_backends import message_id_for
from cases.notice_texts import TemplateCache, render_notice


def delivery_for(customer: Customer) -> tuple[str, str] | None:
    """(channel, address) for a customer: their preferred channel when it can carry a written
    notice, else email, else SMS. ``phone`` means they like calls: the notice goes by SMS."""
    preferred = customer.preferred_channel
    if preferred == ContactChannel.WECHAT and customer.wechat_openid:
        return ContactChannel.WECHAT, customer.wechat_openid
    if preferred in (ContactChannel.SMS, ContactChannel.PHONE) and customer.phone:
        return ContactChannel.SMS, customer.phone
    if customer.email:
        return ContactChannel.EMAIL, customer.email
    if customer.phone:
        return ContactChannel.SMS, customer.phone
    return None


def delivery_options(customer: Customer) -> list[tuple[str, str]]:
    """Every (channel, address) a written message can reach the customer on, the one
    ``delivery_for`` picks first (phone numbers are written to by SMS)."""
    options = [(ContactChannel.EMAIL, customer.email), (ContactChannel.SMS, customer.phone),
               (ContactChannel.WECHAT, customer.wechat_openid)]
    options = [(channel, address) for channel, address in options if address]
    first = delivery_for(customer)
    return sorted(options, key=lambda option: option != first)


def notice_queue(
    *, case: Case, kind: str, key: str, context: dict[str, Any] | None = None,
) -> Notice | None:
    """Write one outbox row for ``case``'s customer in the caller's transaction and dispatch
    it after commit. ``key`` makes the intent unique (a retried action queues nothing new).
    Returns None when the customer has no address at all (the desk shows that)."""
    existing = Notice.objects.filter(idempotency_key=notice_key(case, kind, key)).first()
    if existing is not None:
        return existing
    notice = notice_build(case=case, kind=kind, key=key, context=context)
    if notice is None:
        return None
    notice.save(force_insert=True)
    notice_dispatch_after_commit(notice)
    return notice


def notice_key(case: Case, kind: str, key: str) -> str:
    return f"{kind}:{case.pk}:{key}"


def notice_message_id(channel: str, idempotency_key: str) -> str:
    """``Notice.message_id`` of a customer notice: its e-mail's Message-ID without brackets,
    stored so the customer's reply (In-Reply-To) finds the case; "" for other channels."""
    return (message_id_for(idempotency_key).strip("<>")
            if channel == ContactChannel.EMAIL else "")


def notice_build(
    *, case: Case, kind: str, key: str, context: dict[str, Any] | None = None,
    templates: TemplateCache | None = None,
) -> Notice | None:
    """The unsaved outbox row ``notice_queue`` writes (None: the customer has no address).
    ``templates``: the notice templates the caller read already (see
    ``cases.notice_texts.render_notice``)."""
    target = delivery_for(case.customer)
    if target is None:
        return None
    channel, recipient = target
    full_context = {"reference": case.reference, "tracking_code": case.tracking_code,
                    "customer_name": case.customer.name, **(context or {})}
    language = case.customer.language or "zh-hans"
    subject, body = render_notice(kind=kind, channel=channel, language=language,
                                  context=full_context, cache=templates)
    subject = _subject_line(subject)
    idempotency_key = notice_key(case, kind, key)
    return Notice(
        case=case, kind=kind, channel=channel, recipient=recipient, language=language,
        subject=subject, body=body, context=full_context, idempotency_key=idempotency_key,
        message_id=notice_message_id(channel, idempotency_key), created_at=timezone.now(),
    )


_SUBJECT_MAX = Notice._meta.get_field("subject").max_length


def _subject_line(subject: str) -> str:
    """One line that fits the column: a template may put a long or multi-line value (the
    agent's message) in the subject, which an e-mail header cannot carry."""
    line = " ".join(subject.split())
    return line if len(line) <= _SUBJECT_MAX else line[:_SUBJECT_MAX - 1] + "…"


def notice_dispatch_after_commit(notice: Notice) -> None:
    """Dispatched after commit; a broker outage is logged, and the outbox sweep sends it
    later."""
    from cases.services.outbox import notice_dispatch_on_commit

    notice_dispatch_on_commit([notice.pk])


__all__ = ["NoticeKind", "delivery_for", "delivery_options", "notice_build",
           "notice_dispatch_after_commit", "notice_key", "notice_queue"]
