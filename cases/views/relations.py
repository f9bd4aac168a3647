"""Link, merge (and undo), split: the workspace's related-case actions."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from cases.models import CaseMerge
from cases.relation_forms import LinkForm, MergeForm, SplitForm
from cases.services import ActionForbidden, DomainError
from cases.services.merging import case_link, case_merge, case_merge_undo, case_unlink
from cases.services.splitting import case_split
from cases.views.actions import case_url
from cases.views.base import AgentRequiredMixin, get_case_or_404

RELATIONS_ANCHOR = "#relations"


def _form_error(form: object, exc: DomainError) -> None:
    field = getattr(exc, "field", None)
    form.add_error(field if field in form.fields else None, exc.message)


class CaseLinkView(AgentRequiredMixin, View):
    """Link the case to another one named by reference (POST)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk)
        form = LinkForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                case_link(actor=request.user, case_id=case.pk, other_id=form.other.pk)
            except ActionForbidden:
                raise
            except DomainError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, _("Linked to %(ref)s.") % {"ref": form.other.reference})
                return redirect(case_url(case) + RELATIONS_ANCHOR)
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(case_url(case) + RELATIONS_ANCHOR)


class CaseUnlinkView(AgentRequiredMixin, View):
    def post(self, request: HttpRequest, pk: int, link_pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk)
        try:
            case_unlink(actor=request.user, case_id=case.pk, link_id=link_pk)
        except ActionForbidden:
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Link removed."))
        return redirect(case_url(case) + RELATIONS_ANCHOR)


class CaseMergeView(AgentRequiredMixin, View):
    """Merge this case (the duplicate) into a primary case named by reference."""

    template_name = "cases/relations/merge.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk)
        form = MergeForm(user=request.user, initial={"primary": request.GET.get("into", "")})
        return render(request, self.template_name, {"case": case, "form": form})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk)
        form = MergeForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                case_merge(actor=request.user, duplicate_id=case.pk, primary_id=form.other.pk,
                           note=form.cleaned_data["note"])
            except ActionForbidden:
                raise
            except DomainError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, _("%(dup)s merged into %(primary)s. You can undo it "
                                            "within 7 days.")
                                 % {"dup": case.reference, "primary": form.other.reference})
                return redirect(case_url(form.other) + "#timeline")
        return render(request, self.template_name, {"case": case, "form": form}, status=400)


class MergeUndoView(AgentRequiredMixin, View):
    """Undo a merge (POST); back to the case that reopened."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        merge = CaseMerge.objects.filter(pk=pk).only("pk", "primary_id", "duplicate_id").first()
        if merge is None:
            raise Http404(_("No such merge."))
        duplicate = get_case_or_404(request, merge.duplicate_id)
        try:
            case_merge_undo(actor=request.user, merge_id=merge.pk)
        except ActionForbidden:
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(case_url(duplicate) + RELATIONS_ANCHOR)
        messages.success(request, _("Merge undone: %(ref)s is open again.")
                         % {"ref": duplicate.reference})
        return redirect(case_url(duplicate))


class CaseSplitView(AgentRequiredMixin, View):
    """Split a second matter off the case into a new case."""

    template_name = "cases/relations/split.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk)
        return render(request, self.template_name, {"case": case,
                                                    "form": SplitForm(case=case)})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk)
        form = SplitForm(request.POST, case=case)
        if form.is_valid():
            data = form.cleaned_data
            try:
                new = case_split(actor=request.user, case_id=case.pk, subject=data["subject"],
                                 description=data["description"], category=data["category"],
                                 note_ids=data["notes"], attachment_ids=data["attachments"])
            except ActionForbidden:
                raise
            except DomainError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, _("%(new)s split off %(ref)s.")
                                 % {"new": new.reference, "ref": case.reference})
                return redirect(case_url(new))
        return render(request, self.template_name, {"case": case, "form": form}, status=400)


__all__ = ["CaseLinkView", "CaseMergeView", "CaseSplitView", "CaseUnlinkView", "MergeUndoView"]
