"""Pause and resume a case's clocks from the workspace (POST only)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from cases import permissions as perms
from cases.choices import MAX_FREE_TEXT
from cases.services import ActionNotAllowed, CaseBusy, InvalidInput
from cases.services.pauses import Evidence, case_pause, case_resume
from cases.views.actions import case_url
from cases.views.base import AgentRequiredMixin, get_case_or_404


class PauseForm(forms.Form):
    """Field shapes only: the service checks the reason, the note and the evidence."""

    reason = forms.CharField(label=gettext_lazy("Reason"), required=False, max_length=40)
    note = forms.CharField(label=gettext_lazy("What the case is waiting for"), required=False,
                           max_length=MAX_FREE_TEXT, widget=forms.Textarea(attrs={"rows": 2}))
    evidence = forms.FileField(label=gettext_lazy("Evidence"), required=False)


def _evidence(upload) -> Evidence | None:  # noqa: ANN001
    if upload is None:
        return None
    return Evidence(name=upload.name, data=upload.read(),
                    content_type=getattr(upload, "content_type", "") or "")


class CasePauseView(AgentRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk)
        if not perms.can_pause(case, request.user):
            raise PermissionDenied(_("Only the case's owner or handler, or a supervisor, may "
                                     "pause or resume it."))
        form = PauseForm(request.POST, request.FILES)
        if not form.is_valid():
            messages.error(request, " ".join(e for errors in form.errors.values()
                                             for e in errors))
            return redirect(f"{case_url(case)}#pause")
        data = form.cleaned_data
        try:
            pause = case_pause(actor=request.user, case_id=case.pk, reason=data["reason"],
                               note=data["note"], evidence=_evidence(data["evidence"]))
        except (InvalidInput, ActionNotAllowed, CaseBusy) as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Case paused: %(reason)s.") % {"reason": pause.reason})
        return redirect(f"{case_url(case)}#pause")


class CaseResumeView(AgentRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk)
        if not perms.can_pause(case, request.user):
            raise PermissionDenied(_("Only the case's owner or handler, or a supervisor, may "
                                     "pause or resume it."))
        try:
            case_resume(actor=request.user, case_id=case.pk)
        except (ActionNotAllowed, CaseBusy) as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Case resumed: its clocks run again."))
        return redirect(f"{case_url(case)}#pause")
