"""The case workspace: everything about one case on one page, and its notes."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from cases import forms as desk_forms
from cases import permissions as perms
from cases import selectors, services
from cases.audit.history import case_history_page
from cases.choices import OPEN_STAGES, CompensationStatus, NoteKind
from cases.selectors import department_requests
from cases.selectors.letters import letters_of
from cases.selectors.pauses import case_pause_panel
from cases.selectors.presence import present
from cases.selectors.relations import case_relations
from cases.selectors.statutory import statutory_panel
from cases.selectors.timeline import Cursor
from cases.services import (
    ActionNotAllowed,
    CaseBusy,
    DomainError,
    InvalidInput,
    conversation,
)
from cases.services.audit import audit_personal_data_view
from cases.services.desk_config import desk_config
from cases.services.macros import macro_send_reply
from cases.views import inline
from cases.views.actions import actions_for, case_url
from cases.views.base import AgentRequiredMixin, get_case_or_404
from cases.views.mentions import report_mentions


class CaseWorkspaceView(AgentRequiredMixin, View):
    template_name = "cases/workspace/case.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk)
        return render(request, self.template_name, self.context(request, case))

    @staticmethod
    def context(request: HttpRequest, case, note_form=None, reply_form=None, *,
                record_view: bool = True) -> dict:
        """The page's context. ``record_view``: audit the customer's unmasked contact data as
        seen (False when re-rendering the page the agent has open, whose load recorded it)."""
        user = request.user
        # The board's panel (requests with open to-dos and latest progress, and the real
        # "may ask a department" rule); its requests also feed the timeline.
        collaboration = department_requests.case_collaboration(case=case, user=user)
        workspace = selectors.case_workspace(
            case, user=user, requests=collaboration.requests,
            before=Cursor.decode(request.GET.get("before")))
        actions = actions_for(case, user)
        can_note = perms.can_add_note(case, user)
        if record_view and (case.customer.phone or case.customer.email):  # shown unmasked
            audit_personal_data_view(
                actor=user, customer=case.customer, case_id=case.pk, where="workspace",
                fields=[f for f in ("phone", "email") if getattr(case.customer, f)])
        return {
            "case": case,
            "ws": workspace,
            "main_actions": [a for a in actions if a.main],
            "side_actions": [a for a in actions if not a.main],
            "note_form": (note_form or desk_forms.NoteForm()) if can_note else None,
            "reply_form": (reply_form or desk_forms.ReplyForm(
                customer=case.customer, initial={"version": case.version}))
            if perms.can_reply(case, user) and case.stage in OPEN_STAGES else None,
            # A letter is sent with a feedback round, which opens a revisit: no revisit, no
            # letter to read.
            "letters": letters_of(case) if workspace.revisits and present(case, "letters") else [],
            "letter_mode": desk_config().settings.letter_mode,
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


class CaseTimelineView(AgentRequiredMixin, View):
    """An earlier page of the timeline (GET ``?before=<cursor>``): the fragment "show
    earlier" puts in place of itself."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk)
        before = Cursor.decode(request.GET.get("before"))
        if before is None:
            return HttpResponseBadRequest(_("This page of the timeline does not exist."))
        workspace = selectors.case_workspace(
            case, user=request.user,
            requests=department_requests.case_collaboration(case=case, user=request.user)
            .requests, before=before)
        return render(request, "cases/workspace/_timeline_entries.html",
                      {"case": case, "ws": workspace})


class ReplyResendView(AgentRequiredMixin, View):
    """Send a failed or uncertain reply again (POST only)."""

    def post(self, request: HttpRequest, pk: int, notice_pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk)
        try:  # ActionForbidden is answered 403 by Django
            conversation.reply_resend(actor=request.user, case_id=case.pk, notice_id=notice_pk)
        except (ActionNotAllowed, CaseBusy) as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The reply will be sent again."))
        return redirect(f"{case_url(case)}#timeline")


class CaseReplyView(AgentRequiredMixin, View):
    """Write to the customer (POST only): the reply goes through the outbox."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk)
        if not perms.can_reply(case, request.user):
            raise PermissionDenied(_("You may not write to the customer of this case."))
        post = request.POST.copy()
        form = desk_forms.ReplyForm(post, request.FILES, customer=case.customer)
        if form.is_valid():
            data = form.cleaned_data
            macro_id = request.POST.get("macro", "").strip()
            send = (partial(macro_send_reply, macro_id=macro_id) if macro_id
                    else conversation.case_send_reply)
            try:
                send(actor=request.user, case_id=case.pk, body=data["body"],
                     channel=data["channel"], files=data["files"], version=data["version"])
            except DomainError as exc:
                field = getattr(exc, "field", None)
                form.add_error(field if field in form.fields else None, exc.message)
                # The page shows the case as it is now: sending again after reading a
                # colleague's change is not a conflict a second time.
                post["version"] = str(case.version)
            else:
                messages.success(request, _("Reply queued for sending."))
                return redirect(f"{case_url(case)}#timeline")
        context = CaseWorkspaceView.context(request, case, reply_form=form)
        return render(request, CaseWorkspaceView.template_name, context, status=400)


class CaseNoteView(AgentRequiredMixin, View):
    """Add an internal note or a progress update (POST only; in place with htmx)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk)
        if not perms.can_add_note(case, request.user):
            raise PermissionDenied(_("You may not add notes to this case."))
        form = desk_forms.NoteForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                note = services.case_add_note(
                    actor=request.user, case_id=case.pk, body=data["body"], kind=data["kind"],
                    visible_to_customer=data["visible_to_customer"], files=data["files"],
                )
            except (InvalidInput, ActionNotAllowed, CaseBusy) as exc:
                field = getattr(exc, "field", None)
                form.add_error(field if field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Progress update added.")
                                 if data["kind"] == NoteKind.PROGRESS else _("Note added."))
                report_mentions(request, note.mention_outcome)
                return inline.back_to_case(request, case.pk, "#timeline")
        # htmx swaps a 422 (the workspace's main column, with the form's errors) in place.
        if request.htmx:
            context = CaseWorkspaceView.context(request, case, note_form=form,
                                                record_view=False)
            return render(request, inline.MAIN_TEMPLATE, context, status=422)
        context = CaseWorkspaceView.context(request, case, note_form=form)
        return render(request, CaseWorkspaceView.template_name, context, status=400)
