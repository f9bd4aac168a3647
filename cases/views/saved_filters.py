"""Saved filters of the desk list: save the filters on screen under a name, apply one,
rename or delete one's own (cases.services.saved_filters holds the rules)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from cases import selectors, services
from cases.filters import CaseFilter, list_params
from cases.models import SavedFilter
from cases.services import DomainError
from cases.services.saved_filters import saved_filter_query
from cases.views.base import AgentRequiredMixin


def _filter_problems(request: HttpRequest, query: str) -> list[str]:
    """What is wrong with a filter set the user wants to save ([] when nothing)."""
    data = QueryDict(query)
    if not selectors.may_open_queue(request.user, data.get("queue", "")):
        return [_("This queue is for supervisors.")]
    form = CaseFilter(data, queryset=selectors.case_list_for_desk(request.user),
                      user=request.user).form
    if form.is_valid():
        return []
    return [f"{form[name].label}: {' '.join(errors)}" for name, errors in form.errors.items()
            if name in form.fields]


def _describer(request: HttpRequest) -> Callable[[str], list[tuple[str, str]]]:
    """A function turning a saved query string into (filter label, value label) pairs, as the
    filter bar names them ("Tier: 1 urgent"). The agents' and departments' names are read
    once for all the user's saved filters."""
    filterset = CaseFilter(QueryDict(), queryset=selectors.case_list_for_desk(request.user),
                           user=request.user)
    fields = filterset.form.fields
    choices: dict[str, dict[str, str]] = {}
    for name in ("owner", "department"):
        choices[name] = {str(pk): label for pk, label in filterset.choice_list(name)}
    for name, field in fields.items():
        if name not in choices and hasattr(field, "choices"):
            choices[name] = {str(v): str(label) for v, label in field.choices}
    labels = {name: str(field.label) for name, field in fields.items()}
    labels.update({"received_after": _("Received from"), "received_before": _("Received until"),
                   "per_page": _("Rows per page")})

    def describe(query: str) -> list[tuple[str, str]]:
        pairs = []
        for name, values in QueryDict(query).lists():
            shown = [choices.get(name, {}).get(v, v) for v in values]
            pairs.append((labels.get(name, name), ", ".join(shown)))
        return pairs

    return describe


def _own_or_404(request: HttpRequest, pk: int) -> SavedFilter:
    try:
        return selectors.saved_filter_for(request.user, pk)
    except SavedFilter.DoesNotExist as exc:
        raise Http404(_("No such saved filter.")) from exc


class SavedFilterListView(AgentRequiredMixin, View):
    """GET: the user's saved filters with rename and delete. POST: save the filter set in
    ``query`` (the list's query string) under ``name``, then show the list with it."""

    template_name = "cases/desk/saved_filters.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        saved = selectors.saved_filters_for(request.user)
        describe = _describer(request)
        for row in saved:
            row.summary = describe(row.query)
        return render(request, self.template_name, {"saved_filters": saved})

    def post(self, request: HttpRequest) -> HttpResponse:
        query = saved_filter_query(QueryDict(request.POST.get("query", "")), list_params())
        back = f"{reverse('desk:cases')}?{query}" if query else reverse("desk:cases")
        problems = _filter_problems(request, query)
        if problems:
            messages.error(request, _("These filters cannot be saved: %(problems)s")
                           % {"problems": "; ".join(problems)})
            return HttpResponseRedirect(back)
        try:
            saved = services.saved_filter_create(
                actor=request.user, name=request.POST.get("name", ""), query=query)
        except DomainError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(back)
        messages.success(request, _("Filters saved as “%(name)s”.") % {"name": saved.name})
        return HttpResponseRedirect(back)


class SavedFilterApplyView(AgentRequiredMixin, View):
    """Open the case list with one of the user's saved filters."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        saved = _own_or_404(request, pk)
        return HttpResponseRedirect(f"{reverse('desk:cases')}?{saved.query}")


class SavedFilterRenameView(AgentRequiredMixin, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            saved = services.saved_filter_rename(
                actor=request.user, saved_filter_id=pk, name=request.POST.get("name", ""))
        except SavedFilter.DoesNotExist as exc:
            raise Http404(_("No such saved filter.")) from exc
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Saved filter renamed to “%(name)s”.")
                             % {"name": saved.name})
        return redirect("desk:saved_filters")


class SavedFilterDeleteView(AgentRequiredMixin, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            name = services.saved_filter_delete(actor=request.user, saved_filter_id=pk)
        except SavedFilter.DoesNotExist as exc:
            raise Http404(_("No such saved filter.")) from exc
        messages.success(request, _("Saved filter “%(name)s” deleted.") % {"name": name})
        return redirect("desk:saved_filters")
