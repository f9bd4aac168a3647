"""Reporting pages (/reports/): dashboard, root causes, weekly reviews, improvement actions
and exports. Views only translate HTTP: permission, form, selector or service, response."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases.choices import Category, ChannelKind, Stage, Tier
from cases.services.audit import audit_export
from cases.services.errors import DomainError, InvalidInput
from reporting import exports, selectors
from reporting import kpis as K
from reporting import permissions as rperms
from reporting.forms import ImprovementActionForm, PeriodForm
from reporting.models import ImprovementAction, WeeklyReview
from reporting.periods import today_local
from reporting.services import (
    improvement_action_create,
    improvement_action_update,
    previous_week,
    weekly_review_build,
)

FORMATS = ("csv", "xlsx")


def _require(check: Any, request: HttpRequest, message: str) -> None:
    if not check(request.user):
        raise PermissionDenied(message)


def _period(request: HttpRequest, *, report_errors: bool = True) -> tuple[PeriodForm, Any]:
    form = PeriodForm(request.GET or None)
    today = today_local()
    if form.is_bound and not form.is_valid() and report_errors:
        for error in form.non_field_errors() + [e for f in form.errors.values() for e in f]:
            messages.error(request, error)
    return form, form.period_for(today)


def _query(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


# --- dashboard and root causes -----------------------------------------------------------------
@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    _require(rperms.can_view_reports, request, _("Reports are for agents, supervisors and admins."))
    form, period = _period(request)
    board = selectors.dashboard(period, timezone.now())
    return render(request, "reporting/dashboard.html", {
        "form": form, "board": board, "kpis": K.KPIS, "query": _query(request),
        "dimensions": [
            ("tier", _("Tier")), ("channel", _("Channel")), ("category", _("Category")),
            ("department", _("Department")),
        ],
        "can_edit_targets": rperms.can_edit_targets(request.user),
        "can_manage": rperms.can_manage_reviews(request.user),
        "report_tz": settings.TIME_ZONE,
    })


@login_required
@require_GET
def root_causes(request: HttpRequest) -> HttpResponse:
    _require(rperms.can_view_reports, request, _("Reports are for agents, supervisors and admins."))
    form, period = _period(request)
    now = timezone.now()
    cur, prev = period.window(now), period.previous_window(now)
    rows, by_category = selectors.root_cause_report(cur, prev)
    return render(request, "reporting/root_causes.html", {
        "form": form, "period": period, "rows": rows, "query": _query(request),
        "by_category": by_category,
        "chart": {"root_causes": {"labels": [r["label"] for r in rows[:15]],
                                  "data": [r["count"] for r in rows[:15]],
                                  "label": _("Cases resolved")}},
    })


@login_required
@require_GET
def export_kpis(request: HttpRequest, fmt: str) -> Any:
    _require(rperms.can_view_reports, request, _("Reports are for agents, supervisors and admins."))
    if fmt not in FORMATS:
        raise Http404
    form, period = _period(request, report_errors=False)
    if form.is_bound and not form.is_valid():
        return HttpResponseBadRequest(" ".join(str(e) for e in form.non_field_errors())
                                      or _("Invalid period."))
    board = selectors.dashboard(period, timezone.now())
    name = f"kpis-{period.first.isoformat()}-{period.last.isoformat()}"
    sheets = exports.kpi_sheets(board)
    audit_export(actor=request.user, what="kpis", filters=dict(request.GET.lists()),
                 rows=sum(len(rows) for _title, _header, rows in sheets), file_format=fmt)
    return exports.respond(fmt, name, sheets)


# --- case list export (the desk's filters) -----------------------------------------------------
@login_required
@require_GET
def export_cases(request: HttpRequest, fmt: str) -> Any:
    """The desk's filtered case list as CSV or Excel. Takes the desk list's GET filters
    (``cases.filters.CaseFilter``, same defaults: the "open" queue, every case for a
    search) and the user's visibility scope. Customer data: supervisors and admins only."""
    _require(rperms.can_export_customer_data, request,
             _("Only supervisors and admins may export customer data."))
    if fmt not in FORMATS:
        raise Http404
    from cases.filters import CaseFilter, list_query
    from cases.selectors import SEARCH_CAP

    filterset = CaseFilter(list_query(request.GET),
                           queryset=selectors.exportable_cases(request.user), user=request.user)
    if not filterset.is_valid():
        errors = "; ".join(f"{name}: {' '.join(map(str, errs))}"
                           for name, errs in filterset.errors.items())
        return HttpResponseBadRequest(_("Invalid filters: %(errors)s") % {"errors": errors})
    matching = filterset.matching
    if filterset.search_capped:  # the file would look complete and not be
        return HttpResponseBadRequest(
            _("The search matches more than %(n)d cases: narrow it to export them.")
            % {"n": SEARCH_CAP})
    audit_export(actor=request.user, what="cases", filters=dict(request.GET.lists()),
                 rows=matching.count(), file_format=fmt)
    stamp = timezone.localtime(timezone.now()).strftime("%Y%m%d-%H%M")
    name = f"cases-{stamp}"
    if fmt == "xlsx":
        return exports.stream_cases_xlsx(matching, name)
    return exports.stream_cases_csv(matching, name)


# --- weekly reviews ----------------------------------------------------------------------------
@login_required
@require_GET
def review_list(request: HttpRequest) -> HttpResponse:
    _require(rperms.can_view_reports, request, _("Reports are for agents, supervisors and admins."))
    last_week = previous_week(timezone.now())
    reviews = list(selectors.review_list()[:104])
    return render(request, "reporting/review_list.html", {
        "reviews": reviews, "last_week": last_week,
        "last_week_missing": not any(r.week_start == last_week for r in reviews),
        "can_manage": rperms.can_manage_reviews(request.user),
    })


@login_required
@require_POST
def review_build(request: HttpRequest) -> HttpResponse:
    _require(rperms.can_manage_reviews, request,
             _("Only supervisors and admins build weekly reviews."))
    now = timezone.now()
    try:
        review, created = weekly_review_build(week=previous_week(now), actor=request.user,
                                              now=now)
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("reports:reviews")
    if created:
        messages.success(request, _("The weekly review was built."))
    else:
        messages.info(request, _("This week's review already exists; it is not rebuilt."))
    return redirect("reports:review", pk=review.pk)


def _review_context(request: HttpRequest, review: WeeklyReview,
                    form: ImprovementActionForm | None = None) -> dict[str, Any]:
    data = review.data or {}
    kpis = []
    for item in data.get("kpis", []):
        kpi = K.KPI_BY_CODE.get(item["code"])
        kpis.append({**item, "label": kpi.label if kpi else item["code"],
                     "unit": kpi.unit if kpi else K.PERCENT})
    can_manage = rperms.can_manage_reviews(request.user)
    if can_manage and form is None:
        form = ImprovementActionForm(user=request.user, initial={"status": "open"})
    return {
        "review": review, "data": data, "kpis": kpis,
        "categories": dict(Category.choices), "tiers": dict(Tier.choices),
        "stages": dict(Stage.choices), "channels": dict(ChannelKind.choices),
        "actions": selectors.review_actions(review),
        "carried": selectors.carried_over_actions(review),
        "form": form, "can_manage": can_manage, "today": today_local(),
        "can_export": rperms.can_export_customer_data(request.user),
        "clock_labels": {c: selectors.clock_label(c) for c in _clocks_in(data)},
    }


def _clocks_in(data: dict[str, Any]) -> set[str]:
    found: set[str] = set(data.get("breached", {}).get("per_clock", {}))
    for key in ("overdue", "breached"):
        for row in data.get(key, {}).get("cases", []):
            found.update(row.get("clocks", []))
    return found


@login_required
@require_GET
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(rperms.can_view_reports, request, _("Reports are for agents, supervisors and admins."))
    review = get_object_or_404(WeeklyReview.objects.select_related("built_by"), pk=pk)
    return render(request, "reporting/review_detail.html", _review_context(request, review))


@login_required
@require_GET
def review_export(request: HttpRequest, pk: int, fmt: str) -> Any:
    _require(rperms.can_export_customer_data, request,
             _("Only supervisors and admins may export customer data."))
    if fmt not in FORMATS:
        raise Http404
    review = get_object_or_404(WeeklyReview, pk=pk)

    def kpi_label(code: str) -> str:
        kpi = K.KPI_BY_CODE.get(code)
        return str(kpi.label) if kpi else code

    sheets = exports.review_sheets(review, kpi_label, selectors.clock_label,
                                   selectors.review_actions(review))
    audit_export(actor=request.user, what=f"weekly review {review.week_start.isoformat()}",
                 filters={}, rows=sum(len(rows) for _title, _header, rows in sheets),
                 file_format=fmt)
    return exports.respond(fmt, f"weekly-review-{review.week_start.isoformat()}", sheets)


# --- improvement actions -----------------------------------------------------------------------
def _save_action(request: HttpRequest, form: ImprovementActionForm,
                 review: WeeklyReview, action: ImprovementAction | None) -> bool:
    if not form.is_valid():
        return False
    data = form.cleaned_data
    fields = {"actor": request.user, "action": data["action"], "owner": data["owner"],
              "due_date": data["due_date"], "status": data["status"],
              "progress_note": data.get("progress_note", ""), "cases": data["case_refs"]}
    try:
        if action is None:
            improvement_action_create(review=review, **fields)
        else:
            improvement_action_update(action_id=action.pk, **fields)
    except InvalidInput as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        return False
    return True


@login_required
@require_POST
def action_create(request: HttpRequest, pk: int) -> HttpResponse:
    _require(rperms.can_manage_reviews, request,
             _("Only supervisors and admins add improvement actions."))
    review = get_object_or_404(WeeklyReview, pk=pk)
    form = ImprovementActionForm(request.POST, user=request.user)
    if _save_action(request, form, review, None):
        messages.success(request, _("Improvement action added."))
        return redirect(reverse("reports:review", args=[review.pk]) + "#actions")
    return render(request, "reporting/review_detail.html",
                  _review_context(request, review, form), status=400)


@login_required
@require_http_methods(["GET", "POST"])
def action_update(request: HttpRequest, pk: int) -> HttpResponse:
    _require(rperms.can_manage_reviews, request,
             _("Only supervisors and admins change improvement actions."))
    action = get_object_or_404(ImprovementAction.objects.select_related("review"), pk=pk)
    form = ImprovementActionForm(request.POST or None, instance=action, user=request.user)
    if request.method == "POST":
        if _save_action(request, form, action.review, action):
            messages.success(request, _("Improvement action updated."))
            return redirect(reverse("reports:review", args=[action.review_id]) + "#actions")
        return render(request, "reporting/action_form.html",
                      {"form": form, "action": action}, status=400)
    return render(request, "reporting/action_form.html", {"form": form, "action": action})


@login_required
@require_GET
def action_list(request: HttpRequest) -> HttpResponse:
    """Every improvement action, open ones first, for following up across reviews."""
    _require(rperms.can_view_reports, request, _("Reports are for agents, supervisors and admins."))
    status = request.GET.get("status") or "open"
    actions = ImprovementAction.objects.select_related("owner", "review").prefetch_related(
        "cases")
    if status == "open":
        actions = actions.filter(status__in=["open", "in_progress"])
    elif status != "all":
        status = "open"
        actions = actions.filter(status__in=["open", "in_progress"])
    counts = ImprovementAction.objects.aggregate(
        open=Count("pk", filter=Q(status__in=["open", "in_progress"])),
        overdue=Count("pk", filter=Q(status__in=["open", "in_progress"],
                                     due_date__lt=today_local())),
        all=Count("pk"),
    )
    return render(request, "reporting/action_list.html", {
        "actions": actions.order_by("due_date", "pk")[:500], "status": status,
        "counts": counts, "today": today_local(),
        "can_manage": rperms.can_manage_reviews(request.user),
    })
