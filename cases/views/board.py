"""The shared board: HTTP in, one selector or service call, a message, a redirect.

Scoping: every page reads through ``selectors.board.requests_visible_to``; a request outside a
user's scope is a 404 (its existence must not leak), an action the user may not take on a
request they can see is a 403. Moving a card is a request transition (POST), never a drag.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases import permissions as perms
from cases.forms import DeskText
from cases.ids import parse_id
from cases.models import Department, User
from cases.selectors import board, department_requests
from cases.services import collaboration as collab
from cases.services.audit import audit_personal_data_view
from cases.services.errors import ActionForbidden, DomainError, InvalidInput
from cases.transition_labels import TRANSITION_LABELS
from cases.views.mentions import report_mentions
from channels.forms import MultipleFileField


# --- forms --------------------------------------------------------------------------------------
class NewRequestForm(forms.Form):
    department = forms.ModelChoiceField(
        queryset=Department.objects.none(), label=gettext_lazy("Department"),
        empty_label=gettext_lazy("Choose a department"),
    )
    ask = DeskText(
        label=gettext_lazy("What do you need from them?"),
        help_text=gettext_lazy("A concrete ask: what, by when, for which order or product."),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = department_requests.departments_to_ask(user)


class TodoForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("To-do"), max_length=200)
    assignee = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label=gettext_lazy("Assignee"),
        empty_label=gettext_lazy("Nobody yet"),
    )
    due_at = forms.DateTimeField(
        required=False, label=gettext_lazy("Due"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )

    def __init__(self, *args: Any, assignees: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = User.objects.filter(pk__in=[u.pk for u in assignees])


class NoteForm(forms.Form):
    body = DeskText(label=gettext_lazy("Progress"), rows=2, required=False)
    files = MultipleFileField(label=gettext_lazy("Files"))


# --- helpers ------------------------------------------------------------------------------------
def _back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(default)


def _version(request: HttpRequest) -> int | None:
    return parse_id(request.POST.get("version"), minimum=0)  # versions start at 0


def _form_error(form: forms.Form) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


# --- pages --------------------------------------------------------------------------------------
@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    data = board.board_for_user(user=request.user, params=request.GET)
    no_department = perms.is_liaison(request.user) and data.department is None
    alerts, unread = board.board_alerts(user=request.user)
    return render(request, "cases/board/index.html", {
        "board": data, "no_department": no_department, "alerts": alerts,
        "unread_alerts": unread,
    })


@login_required
@require_GET
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    detail = department_requests.request_detail_for(user=request.user, pk=pk)
    if not detail.case.masked and (detail.case.phone or detail.case.email):
        audit_personal_data_view(
            actor=request.user, customer=detail.req.case.customer, case_id=detail.case.pk,
            where="board request", fields=[f for f in ("phone", "email")
                                           if getattr(detail.case, f)])
    return render(request, "cases/board/detail.html", {
        "d": detail, "todo_form": TodoForm(assignees=detail.assignees), "note_form": NoteForm(),
    })


_SERVICES = {
    "answer": collab.request_answer,
    "accept": collab.request_accept,
    "dispute": collab.request_dispute,
    "decide": collab.request_decide,
    "complete": collab.request_complete,
    "withdraw": collab.request_withdraw,
}


@login_required
@require_POST
def request_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Move a card: run one request transition with its text."""
    if action not in _SERVICES:
        raise Http404("Unknown action")
    department_requests.request_for_user(user=request.user, pk=pk)  # 404 outside the user's scope
    field_name = board.ACTIONS[action][0]
    try:
        _SERVICES[action](
            actor=request.user, request_id=pk, expected_version=_version(request),
            **{field_name: request.POST.get(field_name, "")},
        )
    except ActionForbidden:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(action)s: done.") % {
            "action": TRANSITION_LABELS[action]})
    return _back(request, reverse("board:request", args=[pk]))


@login_required
@require_POST
def todo_add(request: HttpRequest, pk: int) -> HttpResponse:
    req = department_requests.request_for_user(user=request.user, pk=pk)
    if not collab.can_collaborate(req, request.user):
        raise PermissionDenied
    form = TodoForm(request.POST, assignees=collab.todo_assignees(req))
    if not form.is_valid():
        messages.error(request, _form_error(form))
    else:
        try:
            collab.todo_add(actor=request.user, request_id=pk, **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("To-do added."))
    return _back(request, reverse("board:request", args=[pk]))


@login_required
@require_POST
def todo_toggle(request: HttpRequest, pk: int, todo_id: int) -> HttpResponse:
    req = department_requests.request_for_user(user=request.user, pk=pk)
    if not req.todos.filter(pk=todo_id).exists():
        raise Http404("No such to-do")
    try:
        collab.todo_toggle(actor=request.user, todo_id=todo_id)
    except ActionForbidden:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    return _back(request, reverse("board:request", args=[pk]))


@login_required
@require_POST
def note_add(request: HttpRequest, pk: int) -> HttpResponse:
    department_requests.request_for_user(user=request.user, pk=pk)
    form = NoteForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _form_error(form))
    else:
        try:
            note = collab.request_add_note(actor=request.user, request_id=pk,
                                           body=form.cleaned_data["body"],
                                           files=form.cleaned_data["files"])
        except ActionForbidden:
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Progress noted."))
            report_mentions(request, note.mention_outcome)
    return _back(request, reverse("board:request", args=[pk]))


@login_required
@require_http_methods(["GET", "POST"])
def request_new(request: HttpRequest, case_id: int) -> HttpResponse:
    """Ask a department for help on a case (agents only; others get a 404)."""
    case = department_requests.case_for_new_request(user=request.user, case_id=case_id)
    if not perms.can_request_help(case, request.user):
        raise PermissionDenied(_("Only the case team or a supervisor may ask a department."))
    if case.stage not in collab.REQUESTABLE_STAGES:
        messages.error(request, _("Help can be requested only while the case is being handled."))
        return redirect("desk:case", pk=case.pk)
    form = NewRequestForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            req = collab.request_create(
                actor=request.user, case_id=case.pk, department=form.cleaned_data["department"],
                ask=form.cleaned_data["ask"],
            )
        except InvalidInput as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        except ActionForbidden:
            raise
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("%(dept)s has been asked; their answer is due %(due)s.")
                             % {"dept": req.department,
                                "due": timezone.localtime(req.due_at).strftime("%Y-%m-%d %H:%M")})
            return redirect("board:request", pk=req.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "cases/board/new.html", {
        "form": form, "case": department_requests.case_brief(case, request.user),
        "collaboration": department_requests.case_collaboration(case=case, user=request.user),
    }, status=status)
