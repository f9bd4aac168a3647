"""Canned replies for the composer: the macros that apply to a case, filled for it (JSON)."""

from __future__ import annotations

from dataclasses import asdict

from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views import View

from cases import permissions as perms
from cases.selectors.macros import active_macros
from cases.services.macros import macros_filled_for
from cases.views.base import AgentOr404Mixin, get_case_or_404


class CaseMacroListView(AgentOr404Mixin, View):
    """GET: ``{"macros": [...]}``, each filled for this case in the customer's language
    (title, text, the action sending it also records, warnings)."""

    def get(self, request: HttpRequest, pk: int) -> JsonResponse:
        case = get_case_or_404(request, pk)
        if not perms.can_reply(case, request.user):
            raise Http404(_("No such case."))
        filled = macros_filled_for(macros=active_macros(), case=case, agent=request.user)
        return JsonResponse({"macros": [asdict(m) for m in filled]})
