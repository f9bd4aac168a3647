"""Bulk actions from the desk list, and group complaints managed as a group: both run each
case through its single-case action and show what was done and what was refused, and why."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from cases.models import Case, ComplaintGroup
from cases.relation_forms import BulkActionForm, GroupActionForm, GroupAddForm
from cases.selectors.relations import group_cases, groups_for_desk
from cases.services import ActionForbidden, DomainError
from cases.services.bulk import BULK_COLUMNS, BulkOutcome, bulk_run, step_for
from cases.services.groups import group_act_on_all, group_add_case, group_remove_case
from cases.views.base import AgentRequiredMixin, get_case_or_404

RESULT_TEMPLATE = "cases/relations/bulk_result.html"


def _result(request: HttpRequest, outcome: BulkOutcome, *, title: str, back: str,
            status: int = 200) -> HttpResponse:
    return render(request, RESULT_TEMPLATE, {"outcome": outcome, "title": title,
                                             "back": back}, status=status)


class BulkActionView(AgentRequiredMixin, View):
    """Agents triage with one tier, assign to themselves, link, or close as duplicates of a
    chosen case; supervisors also assign to a handler and transfer ownership."""

    def post(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        back = request.POST.get("next", "")
        back = back if back.startswith("/desk/") else "/desk/cases/"
        form = BulkActionForm(request.POST, user=user)
        if not form.is_valid():
            if "action" in form.errors and request.POST.get("action") in ("assign", "transfer"):
                raise ActionForbidden(_("Bulk assign and transfer are for supervisors."))
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(back)
        data = form.cleaned_data
        step = step_for(data["action"], actor=user, agent=data.get("agent"), tier=data.get("tier"),
                        department=data.get("department"), reason=data.get("reason", ""),
                        primary=form.other)
        cases = (Case.objects.for_user(user).filter(pk__in=data["cases"]).order_by("pk")
                 .only(*BULK_COLUMNS))
        outcome = bulk_run(cases, step, asked=len(data["cases"]))
        label = dict(form.fields["action"].choices)[data["action"]]
        return _result(request, outcome, title=str(label), back=back)


class GroupListView(AgentRequiredMixin, View):
    template_name = "cases/relations/groups.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"groups": groups_for_desk()[:200]})


def _group_or_404(pk: int) -> ComplaintGroup:
    group = ComplaintGroup.objects.filter(pk=pk).first()
    if group is None:
        raise Http404(_("No such group complaint."))
    return group


class GroupDetailView(AgentRequiredMixin, View):
    """A group complaint's cases with stages and clocks, and the actions on the group."""

    template_name = "cases/relations/group.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        group = _group_or_404(pk)
        return self.page(request, group, GroupActionForm(), GroupAddForm(user=request.user))

    def page(self, request: HttpRequest, group: ComplaintGroup, action_form: GroupActionForm,
             add_form: GroupAddForm, status: int = 200) -> HttpResponse:
        return render(request, self.template_name, {
            "group": group, "cases": group_cases(group), "action_form": action_form,
            "add_form": add_form}, status=status)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        group = _group_or_404(pk)
        form = GroupActionForm(request.POST)
        if not form.is_valid():
            return self.page(request, group, form, GroupAddForm(user=request.user), status=400)
        data = form.cleaned_data
        outcome = group_act_on_all(actor=request.user, group_id=group.pk, action=data["action"],
                                   agent=data.get("agent"), body=data.get("body") or "")
        return _result(request, outcome, title=str(group),
                       back=request.path)


class GroupMemberView(AgentRequiredMixin, View):
    """Add a case to the group (by reference) or remove one (``remove`` = case id)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        group = _group_or_404(pk)
        remove = request.POST.get("remove")
        try:
            if remove:
                case = get_case_or_404(request, int(remove) if remove.isdigit() else 0)
                group_remove_case(actor=request.user, group_id=group.pk, case_id=case.pk)
                messages.success(request, _("%(ref)s removed from the group.")
                                 % {"ref": case.reference})
            else:
                form = GroupAddForm(request.POST, user=request.user)
                if not form.is_valid():
                    return GroupDetailView().page(request, group, GroupActionForm(), form,
                                                  status=400)
                group_add_case(actor=request.user, group_id=group.pk, case_id=form.other.pk)
                messages.success(request, _("%(ref)s added to the group.")
                                 % {"ref": form.other.reference})
        except ActionForbidden:
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("desk:group", pk=group.pk)
