"""The case workspace: everything about one case on one page, and its notes."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from cases import forms as desk_forms
from cases import permissions as perms
from cases import selectors, services
from cases.audit.history import case_history_page
from cases.choices import CompensationStatus, NoteKind
from cases.selectors import department_requests
from cases.selectors.pauses import case_pause_panel
from cases.selectors.relations import case_relations
from cases.selectors.statutory import statutory_panel
from cases.services import ActionNotAllowed, CaseBusy, InvalidInput
from cases.services.audit import audit_personal_data_view
from cases.views.actions import actions_for, case_url
from cases.views.base import AgentRequiredMixin, get_case_or_404


class CaseWorkspaceView(AgentRequiredMixin, View):
    template_name = "cases/workspace/case.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk)
        return render(request, self.template_name, self.context(request, case))

    @staticmethod
    def context(request: HttpRequest, case, note_form=None) -> dict:
        user = request.user
        # The board's panel (requests with open to-dos and latest progress, and the real
        # "may ask a department" rule); its requests also feed the timeline.
        collaboration = department_requests.case_collaboration(case=case, user=user)
        workspace = selectors.case_workspace(case, requests=collaboration.requests)
        actions = actions_for(case, user)
        can_note = perms.can_add_note(case, user)
        if case.customer.phone or case.customer.email:  # shown unmasked to agents
            audit_personal_data_view(
                actor=user, customer=case.customer, case_id=case.pk, where="workspace",
                fields=[f for f in ("phone", "email") if getattr(case.customer, f)])
        return {
            "case": case,
            "ws": workspace,
            "main_actions": [a for a in actions if a.main],
            "side_actions": [a for a in actions if not a.main],
            "note_form": (note_form or desk_forms.NoteForm()) if can_note else None,
            "can_approve": perms.can_approve_compensation(case, user),
            "pending_compensations": [c for c in workspace.compensations
                                      if c.status == CompensationStatus.PROPOSED],
            "task_force": list(case.task_force.all()),
            "collaboration": collaboration,
            "pauses": case_pause_panel(case, user),
            "statutory": statutory_panel(case, user),
            "relations": case_relations(case, user),
            "audit_page": case_history_page(case_id=case.pk, page=request.GET.get("audit_page"))
            if perms.can_see_audit_history(user) else None,
        }


class CaseNoteView(AgentRequiredMixin, View):
    """Add an internal note or a progress update (POST only)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk)
        if not perms.can_add_note(case, request.user):
            raise PermissionDenied(_("You may not add notes to this case."))
        form = desk_forms.NoteForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.case_add_note(
                    actor=request.user, case_id=case.pk, body=data["body"], kind=data["kind"],
                    visible_to_customer=data["visible_to_customer"],
                )
            except (InvalidInput, ActionNotAllowed, CaseBusy) as exc:
                field = getattr(exc, "field", None)
                form.add_error(field if field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Progress update added.")
                                 if data["kind"] == NoteKind.PROGRESS else _("Note added."))
                return redirect(f"{case_url(case)}#timeline")
        context = CaseWorkspaceView.context(request, case, note_form=form)
        return render(request, CaseWorkspaceView.template_name, context, status=400)
