"""The desk home (queues and their counts), the filtered case list (its bulk actions are in
``cases.views.bulk``), the user's alerts and preferences."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import InvalidPage, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View

from cases import permissions as perms
from cases import selectors, services
from cases.filters import FILTER_ROWS, CaseFilter, list_params, list_query
from cases.forms import PreferencesForm
from cases.ids import parse_id
from cases.models import Case
from cases.relation_forms import bulk_actions_for
from cases.services import InvalidInput
from cases.services.saved_filters import saved_filter_query
from cases.views.base import AgentRequiredMixin, is_htmx

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25
# Lists count exactly up to COUNT_CAP rows (an index-only read of at most that many entries).
# A longer list shows PostgreSQL's estimate ("about 50,000 cases") and pages over it: its
# Previous/Next links carry keyset cursors (cases.selectors.keyset), so page 1,000 reached by
# them costs what page 1 does; a typed ?page=N is an index-only OFFSET walk of the sort index.
# Where there is no estimate (SQLite) it says "more than 1,000" and pages stop there.
COUNT_CAP = 1_000
PREVIEW_ROWS = 8


class CappedPaginator(Paginator):
    """Counts at most ``cap`` rows (``SELECT COUNT(*) FROM (... LIMIT cap+1)``), so a list of a
    million rows does not COUNT the whole table; past the cap ``capped`` is set and the count
    is the planner's estimate when there is one (``estimated``), else the cap."""

    capped = False
    estimated = False

    def __init__(self, *args: Any, cap: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cap = COUNT_CAP if cap is None else cap

    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, selectors.PagedCases):
            queryset = self.object_list.sorted_qs
        elif isinstance(self.object_list, QuerySet):
            queryset = self.object_list
        else:  # a search's sorted matches
            return len(self.object_list)
        n = selectors.capped_count(queryset, self.cap)
        self.capped = n > self.cap
        if not self.capped:
            return n
        estimate = selectors.estimated_count(queryset)
        self.estimated = estimate is not None and estimate > self.cap
        return estimate if self.estimated else self.cap


def about(n: int) -> int:
    """An estimate as people say it: two significant figures (49,731 -> 50,000)."""
    return int(float(f"{n:.2g}")) if n >= 100 else n


def _sorted_preview(qs: Any) -> list[Case]:
    return list(qs.order_by(*selectors.SORTS[selectors.DEFAULT_SORT][1])[:PREVIEW_ROWS])


class DeskHomeView(AgentRequiredMixin, View):
    template_name = "cases/desk/home.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        now = timezone.now()
        base = selectors.case_list_for_desk(user)
        context: dict[str, Any] = {
            "queue_counts": selectors.desk_queue_counts(user, now),
            "my_cases": _sorted_preview(base.filter(selectors.queue_q("mine", user, now))),
            "is_supervisor": perms.is_supervisor(user),
            "alerts": selectors.alert_links(
                user, list(selectors.alerts_for(user, unread_only=True)[:5])),
            "saved_filters": selectors.saved_filters_for(user),
        }
        if context["is_supervisor"]:
            context["supervision"] = _sorted_preview(
                base.filter(selectors.queue_q("breached", user, now))
            )
        return render(request, self.template_name, context)


class CaseListView(AgentRequiredMixin, View):
    """Cases filtered with django-filter, sorted (nearest due first by default), paginated
    with a capped count. A search that is exactly a reference opens that case."""

    template_name = "cases/desk/case_list.html"
    table_template = "cases/desk/_case_table.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        data = list_query(request.GET)
        if not selectors.may_open_queue(user, data.get("queue", "")):
            raise PermissionDenied(_("This queue is for supervisors."))
        queue = selectors.QUEUES.get(data.get("queue", ""))
        text = (data.get("q") or "").strip()
        if selectors.REFERENCE_RE.match(text):
            found = selectors.case_by_reference(user, text)
            if found is not None:
                return redirect("desk:case", pk=found.pk)
        filterset = CaseFilter(data, queryset=selectors.case_list_for_desk(user), user=user)
        agent_choices = filterset.choice_list("owner")
        department_choices = filterset.choice_list("department")
        per_page = _page_size(request)
        rows = filterset.qs
        if isinstance(rows, QuerySet):
            rows = selectors.PagedCases(rows, filterset.queryset,
                                      filterset.applied_sort)
        paginator = CappedPaginator(rows, per_page)
        params = data.copy()
        for name in ("page", "after", "before"):
            params.pop(name, None)
        page = _list_page(request, paginator, per_page)
        if isinstance(rows, selectors.PagedCases):
            _add_cursor_links(page, rows, params)
        context = {
            "filter": filterset,
            "form": filterset.form,
            "filter_rows": [[(filterset.form[name], css) for name, css in row]
                            for row in FILTER_ROWS],
            "queue": queue,
            "page_obj": page,
            "cases": selectors.label_rows(list(page.object_list)),
            "paginator": paginator,
            "capped": paginator.capped,
            "estimated": paginator.estimated,
            "about": about(paginator.count),
            "search_capped": filterset.search_capped,
            "search_cap": selectors.SEARCH_CAP,
            "count": paginator.count,
            "query_string": params.urlencode(),
            "per_page": per_page,
            "page_sizes": PAGE_SIZES,
            "is_supervisor": perms.is_supervisor(user),
            "bulk_actions": bulk_actions_for(user),
            "agent_choices": agent_choices,
            "department_choices": department_choices,
            "next_url": request.get_full_path(),
            "saved_filters": selectors.saved_filters_for(user),
            "current_query": saved_filter_query(data, list_params()),
        }
        template = self.table_template if is_htmx(request) else self.template_name
        return render(request, template, context)


def _list_page(request: HttpRequest, paginator: CappedPaginator, per_page: int) -> Any:
    """The page a list link asks for: by cursor (``after``/``before``, what the list's own
    Previous/Next links carry: one index range, however deep) or by number (``page``: an
    OFFSET over the sort index, so its cost grows with the number). A cursor that does not
    fit (damaged, another sort, its rows gone) gives page 1 and says so."""
    rows = paginator.object_list
    after, before = request.GET.get("after"), request.GET.get("before")
    if isinstance(rows, selectors.PagedCases) and (after or before):
        try:
            return selectors.page_by_cursor(rows, token=after or before or "",
                                             backward=not after, per_page=per_page,
                                             paginator=paginator)
        except selectors.InvalidCursor:
            messages.info(request, _("That page link is out of date: showing the first page."))
            return paginator.page(1)
    try:
        return paginator.page(request.GET.get("page") or 1)
    except InvalidPage:
        return paginator.page(paginator.num_pages or 1)


def _add_cursor_links(page: Any, rows: selectors.PagedCases, params: Any) -> None:
    """Give ``page`` the query strings of its Next and Previous links as cursors (the page
    number rides along for the reader; the cursor decides). Page 2's Previous is page 1."""
    page.next_query = page.previous_query = ""
    if rows.edges is None:
        return
    first, last = rows.edges
    links = [("next_query", "after", page.number + 1, last, page.has_next())]
    if page.number > 2:
        links.append(("previous_query", "before", page.number - 1, first, page.has_previous()))
    for attr, name, number, values, wanted in links:
        if wanted:
            query = params.copy()
            query["page"] = str(number)
            query[name] = selectors.cursor_token(rows.sort, number, values)
            setattr(page, attr, query.urlencode())


def _page_size(request: HttpRequest) -> int:
    try:
        value = int(request.GET.get("per_page", DEFAULT_PAGE_SIZE))
    except (TypeError, ValueError):
        return DEFAULT_PAGE_SIZE
    return value if value in PAGE_SIZES else DEFAULT_PAGE_SIZE


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return fallback


class AlertListView(LoginRequiredMixin, View):
    """The signed-in user's alerts (deadline at risk or breached, approvals, ...), unread
    first. Any staff member may have alerts, so this page is open to every signed-in user."""

    template_name = "cases/desk/alerts.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        show_all = request.GET.get("show") == "all"
        qs = selectors.alerts_for(request.user, unread_only=not show_all)
        paginator = CappedPaginator(qs, 50)  # alerts pile up
        try:
            page = paginator.page(request.GET.get("page") or 1)
        except InvalidPage:
            page = paginator.page(1)
        return render(request, self.template_name, {
            "page_obj": page, "show_all": show_all,
            "alerts": selectors.alert_links(request.user, list(page.object_list)),
            "paginator": paginator, "query_string": "show=all" if show_all else "",
        })

    def post(self, request: HttpRequest) -> HttpResponse:
        """Mark one alert (``alert`` = id) or all of them read. Only the recipient's own."""
        alert_id = request.POST.get("alert")
        if alert_id:
            pk = parse_id(alert_id)
            if pk is None:
                messages.error(request, _("No such alert."))
                return redirect("desk:alerts")
            services.alerts_mark_read(actor=request.user, alert_ids=[pk])
        else:
            n = services.alerts_mark_read(actor=request.user)
            messages.success(request, _("%(n)d alert(s) marked read.") % {"n": n})
        return HttpResponseRedirect(_safe_next(request, reverse("desk:alerts")))


class PreferencesView(LoginRequiredMixin, View):
    """Language and time zone of the signed-in user (the desk shows dates in that zone)."""

    template_name = "cases/desk/preferences.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        form = PreferencesForm(instance=request.user)
        return render(request, self.template_name, {"form": form})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PreferencesForm(request.POST, instance=request.user)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=400)
        try:
            user = services.user_preferences_update(actor=request.user, **form.cleaned_data)
        except InvalidInput as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return render(request, self.template_name, {"form": form}, status=400)
        language = user.language or translation.get_language_from_request(request)
        translation.activate(language)
        messages.success(request, _("Preferences saved."))
        response = redirect("desk:preferences")
        if user.language:
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language,
                                samesite="Lax")
        return response
