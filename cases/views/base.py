"""What every desk view shares: who may enter, and turning domain errors into HTTP."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase
from django.utils.translation import gettext as _

from cases import permissions as perms
from cases import selectors
from cases.models import Case


class AgentRequiredMixin(LoginRequiredMixin):
    """The desk is for agents (frontline, senior, supervisors). Anyone else signed in -- a
    department liaison, say -- gets 403 and works from the shared board instead."""

    raise_exception = False

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not perms.is_agent(request.user):
            raise PermissionDenied(_("The agent desk is for agents."))
        return super().dispatch(request, *args, **kwargs)


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def get_case_or_404(request: HttpRequest, pk: int, *, for_action: bool = False) -> Case:
    """The case if the user may see it; 404 otherwise (existence must not leak)."""
    loader = selectors.case_for_action if for_action else selectors.case_for_workspace
    try:
        return loader(request.user, pk)
    except Case.DoesNotExist as exc:
        raise Http404(_("No such case.")) from exc


class AgentOr404Mixin(LoginRequiredMixin):
    """For what one case holds for the desk (canned replies filled for it, its letters):
    the login page for anonymous users, 404 for anyone else who is not an agent, as for a
    case they may not see."""

    raise_exception = False

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not perms.is_agent(request.user):
            raise Http404(_("No such case."))
        return super().dispatch(request, *args, **kwargs)
