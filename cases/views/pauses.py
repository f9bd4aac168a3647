"""Pause and resume a case's clocks from the workspace (its side panel, or full pages)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from cases import permissions as perms
from cases.choices import MAX_FREE_TEXT
from cases.models import Case
from cases.services import ActionNotAllowed, CaseBusy, InvalidInput
from cases.services.desk_config import desk_config
from cases.services.pauses import Evidence, case_pause, case_resume
from cases.views import inline
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


def _may_pause_case(request: HttpRequest, pk: int) -> Case:
    case = get_case_or_404(request, pk)
    if not perms.can_pause(case, request.user):
        raise PermissionDenied(_("Only the case's owner or handler, or a supervisor, may "
                                 "pause or resume it."))
    return case


def _step(request: HttpRequest, case: Case, *, resume: bool, error: str = "",
          values: dict | None = None, status: int = 200) -> HttpResponse:
    """The pause (or resume) form, as a page or in the workspace's side panel."""
    context = {
        "case": case, "error": error, "values": values or {},
        "step_title": _("Resume") if resume else _("Pause the clocks"),
        "step_icon": "play-circle" if resume else "pause-circle",
        "step_body": ("cases/workspace/_resume_form.html" if resume
                      else "cases/workspace/_pause_form.html"),
        "reasons": [] if resume else list(desk_config().pause_reasons),
    }
    return inline.form_response(request, context, status=status)


class CasePauseView(AgentRequiredMixin, View):
    """GET: the pause form (page or side panel); POST: pause. Without htmx an error is a
    message on the workspace, with htmx the panel shows it beside the form."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return _step(request, _may_pause_case(request, pk), resume=False)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = _may_pause_case(request, pk)
        form = PauseForm(request.POST, request.FILES)
        error = ""
        if not form.is_valid():
            error = " ".join(e for errors in form.errors.values() for e in errors)
        else:
            data = form.cleaned_data
            try:
                pause = case_pause(actor=request.user, case_id=case.pk, reason=data["reason"],
                                   note=data["note"], evidence=_evidence(data["evidence"]))
            except (InvalidInput, ActionNotAllowed, CaseBusy) as exc:
                error = exc.message
            else:
                messages.success(request, _("Case paused: %(reason)s.")
                                 % {"reason": pause.reason})
        if error and request.htmx:
            return _step(request, case, resume=False, error=error, status=400,
                         values={"reason": request.POST.get("reason", ""),
                                 "note": request.POST.get("note", "")})
        if error:
            messages.error(request, error)
        return inline.back_to_case(request, case.pk, "#pause")


class CaseResumeView(AgentRequiredMixin, View):
    """GET: confirm resuming (page or side panel); POST: resume the clocks."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return _step(request, _may_pause_case(request, pk), resume=True)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = _may_pause_case(request, pk)
        try:
            case_resume(actor=request.user, case_id=case.pk)
        except (ActionNotAllowed, CaseBusy) as exc:
            if request.htmx:
                return _step(request, case, resume=True, error=exc.message, status=400)
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Case resumed: its clocks run again."))
        return inline.back_to_case(request, case.pk, "#pause")
