"""The steps an agent takes on a case: one registry entry per step (its form, the service it
calls, and which django-fsm transition decides when and by whom it may be taken), and one view
that shows the step's form and runs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.http import require_POST
from django_fsm import can_proceed

from cases import forms as desk_forms
from cases import permissions as perms
from cases import review_forms, selectors, services
from cases.choices import HANDLING_STAGES, OPEN_STAGES, RevisitMethod, Stage
from cases.models import Case, Compensation, User
from cases.services import ActionForbidden, ActionNotAllowed, ConflictError, InvalidInput
from cases.services.reviews import review_assign, review_conclude
from cases.services.transitions import transitions_named
from cases.views import inline
from cases.views.base import AgentRequiredMixin, get_case_or_404


@dataclass(frozen=True)
class Action:
    """One step on a case.

    For a step that is a django-fsm transition (``transition`` set), the transition decides
    both *when* (a transition exists from the case's current state) and *who* (its
    ``permission`` predicate) -- so the buttons shown are exactly the transitions the user may
    take now. Other steps (contacts, compensation, ownership) give ``permission`` and
    ``when`` themselves.
    """

    name: str
    label: Promise
    form_class: type[desk_forms.ActionForm]
    run: Callable[[User, Case, desk_forms.ActionForm], Any]
    success: Promise
    icon: str = "arrow-right-circle"
    style: str = "primary"
    transition: str | None = None
    permission: Callable[[Case, User], bool] | None = None
    when: Callable[[Case], bool] | None = None
    help: Promise | str = ""
    main: bool = True  # main-path step (a big button) or a side action

    def permitted(self, case: Case, user: User) -> bool:
        """May ``user`` ever take this step on ``case`` (whatever its state)?"""
        if self.transition:
            transitions = transitions_named(case, self.transition)[1]
            return any(t.has_perm(case, user) for t in transitions)
        return bool(self.permission and self.permission(case, user))

    def available(self, case: Case) -> bool:
        """Is the step possible from the case's current state? (Its conditions are the
        form's to meet, so they are not checked here.)"""
        if self.transition:
            return can_proceed(getattr(case, self.transition), check_conditions=False)
        return bool(self.when is None or self.when(case))


# --- the service call of each step -------------------------------------------------------------
def _triage(user: User, case: Case, form: Any) -> Any:
    d = form.cleaned_data
    return services.case_triage(
        actor=user, case_id=case.pk, urgency=d["urgency"], scope=d["scope"],
        difficulty=d["difficulty"], tier=d["tier"], note=d["note"],
        expected_version=form.expected_version,
    )


def _assign(user: User, case: Case, form: Any) -> Any:
    d = form.cleaned_data
    return services.case_assign(
        actor=user, case_id=case.pk, handler=d["handler"], department=d.get("department"),
        task_force=list(d.get("task_force") or []), note=d["note"],
        expected_version=form.expected_version,
    )


def _start(user: User, case: Case, form: Any) -> Any:
    return services.case_start(
        actor=user, case_id=case.pk, contact_summary=form.cleaned_data["contact_summary"],
        expected_version=form.expected_version,
    )


def _resolve(user: User, case: Case, form: Any) -> Any:
    d = form.cleaned_data
    offer = None
    if d.get("compensation_kind"):
        offer = services.CompensationOffer(kind=d["compensation_kind"],
                                           amount=d["compensation_amount"],
                                           description=d.get("compensation_description", ""))
    return services.case_resolve(
        actor=user, case_id=case.pk, solution=d["solution"], root_cause=d["root_cause"],
        compensation=offer, expected_version=form.expected_version,
    )


def _feedback(user: User, case: Case, form: Any) -> Any:
    d = form.cleaned_data
    return services.case_give_feedback(
        actor=user, case_id=case.pk, message=d["message"],
        preventive_measures=d["preventive_measures"], expected_version=form.expected_version,
    )


def _revisit(user: User, case: Case, form: Any) -> Any:
    d = form.cleaned_data
    return services.case_record_revisit(
        actor=user, case_id=case.pk, score=d["score"], comment=d["comment"],
        method=RevisitMethod.PHONE,
    )


def _follow_up(user: User, case: Case, form: Any) -> Any:
    return services.case_complete_follow_up(
        actor=user, case_id=case.pk, message=form.cleaned_data["message"],
        expected_version=form.expected_version,
    )


def _reopen(user: User, case: Case, form: Any) -> Any:
    return services.case_reopen(actor=user, case_id=case.pk, reason=form.cleaned_data["reason"])


def _invalidate(user: User, case: Case, form: Any) -> Any:
    return services.case_invalidate(actor=user, case_id=case.pk,
                                    reason=form.cleaned_data["reason"],
                                    expected_version=form.expected_version)


def _retier(user: User, case: Case, form: Any) -> Any:
    d = form.cleaned_data
    return services.case_retier(actor=user, case_id=case.pk, tier=d["tier"], reason=d["reason"],
                                expected_version=form.expected_version)


def _transfer(user: User, case: Case, form: Any) -> Any:
    d = form.cleaned_data
    return services.case_transfer_ownership(actor=user, case_id=case.pk,
                                            new_owner=d["new_owner"], reason=d["reason"])


def _contact(user: User, case: Case, form: Any) -> Any:
    d = form.cleaned_data
    return services.case_record_contact(actor=user, case_id=case.pk, summary=d["summary"],
                                        visible_to_customer=d["visible_to_customer"])


def _compensate(user: User, case: Case, form: Any) -> Any:
    d = form.cleaned_data
    return services.compensation_propose(actor=user, case_id=case.pk, kind=d["kind"],
                                         amount=d["amount"], description=d["description"])


def _assign_review(user: User, case: Case, form: Any) -> Any:
    return review_assign(actor=user, case_id=case.pk, reviewer=form.cleaned_data["reviewer"])


def _conclude_review(user: User, case: Case, form: Any) -> Any:
    d = form.cleaned_data
    offer = None
    if d.get("compensation_kind"):
        offer = services.CompensationOffer(kind=d["compensation_kind"],
                                           amount=d["compensation_amount"],
                                           description=d.get("compensation_description", ""))
    return review_conclude(actor=user, case_id=case.pk, outcome=d["outcome"],
                           reasons=d["reasons"], new_solution=d["new_solution"],
                           compensation=offer, expected_version=form.expected_version)


def _under_review(case: Case) -> bool:
    return case.stage == Stage.REVIEW


def _is_open(case: Case) -> bool:
    return case.stage in OPEN_STAGES


def _compensable(case: Case) -> bool:
    return case.stage in (*HANDLING_STAGES, Stage.RESOLVED, Stage.FOLLOW_UP)


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("triage", _("Triage"), desk_forms.TriageForm, _triage,
               _("Case triaged."), icon="sliders", transition="triage",
               help=_("Record urgency, impact scope and difficulty, and confirm the tier.")),
        Action("assign", _("Assign"), desk_forms.AssignForm, _assign,
               _("Case assigned."), icon="person-check", transition="assign",
               help=_("Give the case to a handler. Tier 1 needs a task force and the business "
                      "department; tier 2 a senior agent.")),
        Action("start", _("Start handling"), desk_forms.StartForm, _start,
               _("Handling started."), icon="play-circle", transition="start",
               help=_("Take the case up. If nobody has contacted the customer yet, this contact "
                      "is the first response.")),
        Action("resolve", _("Resolve"), desk_forms.ResolveForm, _resolve,
               _("Case resolved. Give the customer feedback within 24 hours."),
               icon="check2-circle", style="success", transition="resolve",
               help=_("Record the solution and the root cause, and any compensation offered.")),
        Action("give_feedback", _("Give feedback"), desk_forms.FeedbackForm, _feedback,
               _("Feedback sent to the customer. The satisfaction revisit is due in 48 hours."),
               icon="send", style="success", transition="give_feedback",
               help=_("Tell the customer the result, the compensation and the measures taken "
                      "so that it does not happen again.")),
        Action("record_revisit", _("Record revisit call"), desk_forms.RevisitForm, _revisit,
               _("Revisit recorded."), icon="telephone", transition="record_revisit",
               help=_("Call the customer and record how satisfied they are (4-5: satisfied, "
                      "the case closes; 1-3: a second follow-up is due within 48 hours).")),
        Action("complete_follow_up", _("Complete follow-up"), desk_forms.FollowUpForm,
               _follow_up, _("Follow-up completed; the case is closed."), icon="flag",
               style="success", transition="complete_follow_up",
               help=_("After a dissatisfied revisit: the extra compensation or adjusted plan "
                      "was delivered.")),
        Action("conclude_review", _("Conclude review"), review_forms.ReviewConcludeForm,
               _conclude_review, _("Review concluded; the customer is told the result."),
               icon="patch-check", style="success", transition="conclude_review",
               help=_("Confirm or change the decision the customer asked to review, with the "
                      "reasons; a changed decision needs the new solution.")),
        Action("assign_review", _("Assign review"), review_forms.ReviewAssignForm,
               _assign_review, _("Review assigned."), icon="person-badge",
               style="outline-primary", permission=perms.can_assign_review,
               when=_under_review, main=False,
               help=_("Give the review to a reviewer above the original handler, or take it "
                      "yourself. Never the handler or the owner.")),
        Action("reopen", _("Reopen"), desk_forms.ReasonForm, _reopen, _("Case reopened."),
               icon="arrow-counterclockwise", style="warning", transition="reopen",
               help=_("Handle a closed case again.")),
        Action("invalidate", _("Close as invalid / withdrawn"), desk_forms.ReasonForm,
               _invalidate, _("Case closed as invalid or withdrawn."), icon="x-circle",
               style="outline-danger", transition="invalidate", main=False,
               help=_("Invalid or withdrawn cases are closed without counting in the KPIs.")),
        Action("retier", _("Re-tier"), desk_forms.RetierForm, _retier, _("Tier changed."),
               icon="layers", style="outline-warning", transition="retier", main=False,
               help=_("Change the confirmed tier. The reason is recorded and the case counts "
                      "as re-tiered.")),
        Action("transfer_ownership", _("Transfer ownership"), desk_forms.TransferForm,
               _transfer, _("Ownership transferred."), icon="person-gear",
               style="outline-secondary", permission=perms.can_transfer_ownership,
               when=_is_open, main=False,
               help=_("First-contact ownership moves only by a supervisor, with a reason.")),
        Action("record_contact", _("Record contact"), desk_forms.ContactForm, _contact,
               _("Contact recorded."), icon="chat-left-text", style="outline-primary",
               permission=perms.can_work, when=_is_open, main=False,
               help=_("A call or message with the customer. The first one is the first "
                      "response.")),
        Action("propose_compensation", _("Propose compensation"), desk_forms.CompensationForm,
               _compensate, _("Compensation proposed."), icon="cash-coin",
               style="outline-primary", permission=perms.can_propose_compensation,
               when=_compensable, main=False,
               help=_("Above the amount set by the admins a supervisor approves it before the "
                      "feedback can name it.")),
    )
}


def actions_for(case: Case, user: User) -> list[Action]:
    """The steps ``user`` may take on ``case`` now, main-path steps first."""
    allowed = [a for a in ACTIONS.values() if a.available(case) and a.permitted(case, user)]
    return sorted(allowed, key=lambda a: not a.main)


def case_url(case: Case) -> str:
    return reverse("desk:case", args=[case.pk])


class CaseActionView(AgentRequiredMixin, View):
    """GET shows the step's form; POST runs the step's service. 404 for a case the user may
    not see or an unknown step, 403 for a step the user may never take on this case."""

    def _setup(self, request: HttpRequest, pk: int, action: str) -> tuple[Case, Action]:
        spec = ACTIONS.get(action)
        if spec is None:
            raise Http404(gettext("No such action."))
        case = get_case_or_404(request, pk, for_action=True)
        if not spec.permitted(case, request.user):
            raise PermissionDenied(
                gettext("You may not do “%(action)s” on this case.") % {"action": spec.label}
            )
        return case, spec

    def _render(self, request: HttpRequest, case: Case, spec: Action, form: Any,
                status: int = 200) -> HttpResponse:
        context = {"case": case, "action": spec, "form": form, "step_title": spec.label,
                   "step_icon": spec.icon, "step_body": "cases/workspace/_action_form.html"}
        if spec.name == "give_feedback":
            context["approved_compensations"] = selectors.approved_compensations(case)
            context["pending_compensations"] = selectors.pending_compensations(case)
        if spec.name == "resolve":
            context["approval_threshold"] = services_threshold()
        return inline.form_response(request, context, status=status)

    def get(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        case, spec = self._setup(request, pk, action)
        if not spec.available(case):
            messages.warning(request, gettext("“%(action)s” is not possible while the case is "
                                        "“%(stage)s”.") % {"action": spec.label,
                                                           "stage": case.get_stage_display()})
            return inline.back_to_case(request, case.pk)
        initial = {}
        if request.GET.get("handler") == "me":  # the "assign to me" shortcut
            initial["handler"] = request.user.pk
        return self._render(request, case, spec,
                            spec.form_class(case=case, user=request.user, initial=initial))

    def post(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        case, spec = self._setup(request, pk, action)
        form = spec.form_class(request.POST, case=case, user=request.user)
        if not form.is_valid():
            return self._render(request, case, spec, form, status=400)
        if form.expected_version is not None and form.expected_version != case.version:
            messages.error(request, gettext(
                "Someone else changed case %(ref)s a moment ago. Reload it and try again."
            ) % {"ref": case.reference})
            return inline.back_to_case(request, case.pk)
        try:
            spec.run(request.user, case, form)
        except ConflictError as exc:
            messages.error(request, exc.message)
            return inline.back_to_case(request, case.pk)
        except InvalidInput as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return self._render(request, case, spec, form, status=400)
        except ActionNotAllowed as exc:
            form.add_error(None, exc.message)
            return self._render(request, case, spec, form, status=400)
        except ActionForbidden as exc:
            form.add_error(None, exc.message)
            return self._render(request, case, spec, form, status=403)
        messages.success(request, spec.success)
        return inline.back_to_case(request, case.pk)


def services_threshold() -> Any:
    from cases.models import DeskSettings

    return DeskSettings.get().compensation_approval_threshold


@require_POST
def compensation_decide_view(request: HttpRequest, pk: int, comp_pk: int) -> HttpResponse:
    """A supervisor approves or rejects a compensation above the threshold, on the desk."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    if not perms.is_agent(request.user):
        raise PermissionDenied(gettext("The agent desk is for agents."))
    case = get_case_or_404(request, pk, for_action=True)
    try:
        compensation = Compensation.objects.get(pk=comp_pk, case=case)
    except Compensation.DoesNotExist as exc:
        raise Http404(gettext("No such compensation.")) from exc
    if not perms.can_approve_compensation(case, request.user):
        raise PermissionDenied(gettext("Only a supervisor may approve compensation."))
    form = desk_forms.CompensationDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Choose approve or reject."))
        return HttpResponseRedirect(case_url(case))
    approve = form.cleaned_data["decision"] == "approve"
    try:
        services.compensation_decide(actor=request.user, compensation_id=compensation.pk,
                                     approve=approve, note=form.cleaned_data["note"])
    except (ActionNotAllowed, ConflictError) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Compensation approved.") if approve
                         else gettext("Compensation rejected."))
    return HttpResponseRedirect(case_url(case))
