"""Alerts for the people a note or a board message names (``@username``, ``@department``:
its liaison). Only those who may see what was written are alerted; the others are reported
back to the author, never alerted (a mention must not leak a case to someone outside it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.masking import text_for
from cases.models import Alert, Case, CaseNote, CollaborationNote, Department, User

ALERT_MENTION = "mention"
EXCERPT_CHARS = 160


@dataclass
class MentionOutcome:
    """What the mentions of one text did: whom they alerted, and the names (as written
    after the @) that alerted nobody, each with the reason."""

    alerted: list[User] = field(default_factory=list)
    not_alerted: list[tuple[str, str]] = field(default_factory=list)


def _recipients(author: User, text: str) -> tuple[dict[int, str], list[tuple[str, str]]]:
    """user id -> the name that mentioned them; and department names with no liaison."""
    from cases.selectors.mentions import MAX_MENTIONS, find_mentions  # selectors import services

    mentions = find_mentions(text)[: MAX_MENTIONS * 2]
    named: dict[int, str] = {}
    departments: dict[int, str] = {}
    for mention in mentions:
        name = text[mention.start + 1:mention.end]
        if mention.target.kind == "user":
            named.setdefault(mention.target.pk, name)
        else:
            departments.setdefault(mention.target.pk, name)
    missing = []
    if departments:
        liaisons = dict(Department.objects.filter(pk__in=departments, liaison__is_active=True)
                        .values_list("pk", "liaison_id"))
        for pk, name in departments.items():
            if pk in liaisons:
                named.setdefault(liaisons[pk], name)
            else:
                missing.append((name, _("the department has no liaison")))
    named.pop(author.pk, None)
    return dict(list(named.items())[:MAX_MENTIONS]), missing


def _alert(
    *, author: User, case: Case, text: str, audience: Callable[[User], bool],
    link_for: Callable[[User], str],
) -> MentionOutcome:
    named, missing = _recipients(author, text)
    outcome = MentionOutcome(not_alerted=missing)
    if not named:
        return outcome
    now = timezone.now()
    alerts = []
    for user in User.objects.filter(pk__in=named, is_active=True).order_by("username"):
        if not audience(user):
            outcome.not_alerted.append((named[user.pk], _("may not see this case")))
            continue
        excerpt = " ".join(text_for(user, text).split())
        if len(excerpt) > EXCERPT_CHARS:
            excerpt = excerpt[:EXCERPT_CHARS - 1] + "…"
        message = _("%(author)s mentioned you on %(ref)s: “%(text)s”") % {
            "author": author, "ref": case.reference, "text": excerpt}
        alerts.append(Alert(recipient=user, case=case, kind=ALERT_MENTION, created_at=now,
                            message=message[:300], link=link_for(user)[:200]))
        outcome.alerted.append(user)
    Alert.objects.bulk_create(alerts)
    return outcome


def _sees_case(case: Case) -> Callable[[User], bool]:
    return lambda user: Case.objects.for_user(user).filter(pk=case.pk).exists()


def mentions_alert_note(*, author: User, note: CaseNote) -> MentionOutcome:
    """Alert those ``note`` (a desk note on its case) mentions who may see the case: an
    agent gets the note's anchor in the workspace, a liaison (whose department has a request
    on the case) their request's page and the text masked as they see case text. Call in the
    note's transaction. Writes one Alert per person alerted."""
    from cases.selectors.board import requests_visible_to

    case = note.case

    def link_for(user: User) -> str:
        if user.is_agent:
            return f"{reverse('desk:case', args=[case.pk])}#note-{note.pk}"
        request_id = (requests_visible_to(user).filter(case=case).order_by("-created_at")
                      .values_list("pk", flat=True).first())
        return reverse("board:request", args=[request_id]) if request_id else ""

    return _alert(author=author, case=case, text=note.body, audience=_sees_case(case),
                  link_for=link_for)


def mentions_alert_board_note(*, author: User, note: CollaborationNote) -> MentionOutcome:
    """Alert those a board message mentions who may see its request (agents, the request's
    department's liaison, its escalation manager), with the message's anchor on the request
    page. Call in the message's transaction."""
    from cases.selectors.board import requests_visible_to

    req = note.request
    link = f"{reverse('board:request', args=[req.pk])}#cnote-{note.pk}"
    return _alert(author=author, case=req.case, text=note.body,
                  audience=lambda user: requests_visible_to(user).filter(pk=req.pk).exists(),
                  link_for=lambda user: link)
