"""The workspace's statutory panel: request an extension, approve or refuse one (POST only)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from cases import permissions as perms
from cases.choices import MAX_FREE_TEXT
from cases.models import ExtensionRequest
from cases.services import ActionNotAllowed, CaseBusy, ConflictError, InvalidInput
from cases.services.statutory import extension_decide, extension_request, may_decide
from cases.views.actions import case_url
from cases.views.base import AgentRequiredMixin, get_case_or_404


class ExtensionRequestForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=MAX_FREE_TEXT,
                             widget=forms.Textarea(attrs={"rows": 2}))


class ExtensionDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("refuse", "refuse")])
    note = forms.CharField(max_length=300, required=False)


def _panel_url(case) -> str:
    return f"{case_url(case)}#statutory"


class ExtensionRequestView(AgentRequiredMixin, View):
    """The handler asks for the regime's next extension, with a reason."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk, for_action=True)
        if not perms.can_handle(case, request.user):
            raise PermissionDenied(_("Only the case's handler or a supervisor may request an "
                                     "extension."))
        form = ExtensionRequestForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Give the reason for the extension."))
            return HttpResponseRedirect(_panel_url(case))
        try:
            extension_request(actor=request.user, case_id=case.pk,
                              reason=form.cleaned_data["reason"])
        except (InvalidInput, ActionNotAllowed, CaseBusy) as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Extension requested: it awaits approval."))
        return HttpResponseRedirect(_panel_url(case))


class ExtensionDecideView(AgentRequiredMixin, View):
    """The role the regime's step names approves or refuses a pending extension."""

    def post(self, request: HttpRequest, pk: int, ext_pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk, for_action=True)
        try:
            extension = ExtensionRequest.objects.get(pk=ext_pk, case=case)
        except ExtensionRequest.DoesNotExist as exc:
            raise Http404(_("No such extension request.")) from exc
        if not may_decide(extension, request.user):
            raise PermissionDenied(_("You may not decide this extension."))
        form = ExtensionDecisionForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose approve or refuse."))
            return HttpResponseRedirect(_panel_url(case))
        approve = form.cleaned_data["decision"] == "approve"
        try:
            extension_decide(actor=request.user, extension_id=extension.pk, approve=approve,
                             note=form.cleaned_data["note"])
        except (InvalidInput, ActionNotAllowed, ConflictError) as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Extension approved: the customer is told the new date.")
                             if approve else _("Extension refused."))
        return HttpResponseRedirect(_panel_url(case))
