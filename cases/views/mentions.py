"""Autocomplete of ``@`` mentions: the people and departments an author may name in a note
(desk) or a board message, as JSON. 404 for anyone who may not write there (existence must
not leak); the login page for anonymous users."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cases import permissions as perms
from cases.selectors import department_requests
from cases.selectors.mentions import mention_candidates_for_case, mention_candidates_for_request
from cases.services.mentions import MentionOutcome
from cases.views.base import get_case_or_404

MAX_QUERY = 50


def _query(request: HttpRequest) -> str:
    return (request.GET.get("q") or "")[:MAX_QUERY].replace("\x00", "")


@login_required
@require_GET
def case_mentions(request: HttpRequest, pk: int) -> JsonResponse:
    """Whom an agent may mention in a note on the case (those who may see the case)."""
    if not perms.is_agent(request.user):
        raise Http404(_("No such case."))
    case = get_case_or_404(request, pk)
    return JsonResponse({"results": mention_candidates_for_case(case, _query(request))})


@login_required
@require_GET
def request_mentions(request: HttpRequest, pk: int) -> JsonResponse:
    """Whom the author may mention in a message on the board request (those who see it)."""
    req = department_requests.request_for_user(user=request.user, pk=pk)
    return JsonResponse({"results": mention_candidates_for_request(req, _query(request))})


def report_mentions(request: HttpRequest, outcome: MentionOutcome | None) -> None:
    """Tell the author whom their mentions alerted, and whom they did not and why."""
    if outcome is None:
        return
    if outcome.alerted:
        messages.info(request, _("Alerted: %(names)s.")
                      % {"names": ", ".join(str(u) for u in outcome.alerted)})
    if outcome.not_alerted:
        messages.warning(request, _("Not alerted: %(names)s.") % {"names": "; ".join(
            f"@{name} ({reason})" for name, reason in outcome.not_alerted)})
