"""Routing's desk pages: an agent's availability (away or back) and the employee a
complaint is about (recusal 回避)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from cases.models import User
from cases.services import DomainError, InvalidInput
from cases.services.recusal import case_set_complained_employee
from cases.services.routing import agent_set_away
from cases.views.base import AgentRequiredMixin, get_case_or_404


class AvailabilityView(AgentRequiredMixin, View):
    """``POST away=1`` (away: no routed cases) or ``away=0`` (back); back to ``next`` (the
    page whose navigation bar sent it, on this site) or the preferences page."""

    def post(self, request: HttpRequest) -> HttpResponse:
        away = request.POST.get("away") == "1"
        agent_set_away(actor=request.user, away=away)
        messages.success(request, _("You are away: no cases are routed to you.") if away
                         else _("You are available: cases are routed to you again."))
        back = request.POST.get("next", "")
        if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
            return redirect(back)
        return redirect("desk:preferences")


class RecusalForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    complained_employee = forms.ModelChoiceField(
        label=gettext_lazy("Employee complained about"), required=False,
        queryset=User.objects.filter(is_active=True).order_by("username"),
        empty_label=gettext_lazy("Nobody named"),
        help_text=gettext_lazy("Recusal (回避): the named employee will never handle or own "
                               "this case."))


class RecusalView(AgentRequiredMixin, View):
    """Name (or clear) the employee a complaint is about."""

    template_name = "cases/workspace/recusal.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk)
        form = RecusalForm(initial={"version": case.version,
                                    "complained_employee": case.complained_employee_id})
        return render(request, self.template_name, {"case": case, "form": form})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk)
        form = RecusalForm(request.POST)
        if form.is_valid():
            try:
                case_set_complained_employee(
                    actor=request.user, case_id=case.pk,
                    employee=form.cleaned_data["complained_employee"],
                    expected_version=form.cleaned_data["version"])
            except InvalidInput as exc:
                form.add_error("complained_employee", exc.message)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Saved."))
                return redirect("desk:case", pk=case.pk)
        return render(request, self.template_name, {"case": case, "form": form}, status=400)
