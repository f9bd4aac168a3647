"""Which case files a user may download: one rule for the download view and the pages that
link to files."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from cases import permissions as perms
from cases.models import Case, CaseAttachment, User


def attachments_visible_to(user: User) -> QuerySet[CaseAttachment]:
    """Agents: every file of a case they may see. A department's liaison: the files shared
    on their department's requests, and the files that came with the complaint (the board
    shows them the complaint); never the desk's notes and replies, nor another department's
    files. Anyone else: nothing."""
    visible = CaseAttachment.objects.filter(case__in=Case.objects.for_user(user).values("pk"))
    if perms.is_agent(user):
        return visible
    if perms.is_liaison(user):
        return visible.filter(Q(request__department__liaison=user)
                              | Q(note__isnull=True, request__isnull=True))
    return CaseAttachment.objects.none()
