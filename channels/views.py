"""Public pages (complaint form, progress lookup) and the desk's logging page and attachment
download. Views translate HTTP: a form, a rate limit, one service call, a redirect."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases.choices import ChannelKind
from cases.ids import parse_id
from cases.models import Case, Customer, ReviewVia
from cases.permissions import is_agent
from cases.selectors.attachments import attachments_visible_to
from cases.selectors.pauses import open_pause_for_tracking
from cases.selectors.statutory import statutory_for_tracking
from cases.services import ActionNotAllowed, CaseBusy, CustomerData, IntakeData, InvalidInput
from cases.services.reviews import review_possible, review_request
from channels import throttling
from channels.api_errors import UNAVAILABLE_RETRY_AFTER
from channels.attachments import private_storage
from channels.forms import (
    CustomerLookupForm,
    DeskComplaintForm,
    PublicComplaintForm,
    TrackForm,
    TrackReviewForm,
)
from channels.selectors import (
    PUBLIC_STAGE_LABELS,
    case_for_tracking,
    customer_search,
    tracking_due_dates,
    tracking_timeline,
)
from channels.services import channel_for, complaint_submit
from complaints_project.cache_outage import REDIS_DOWN_ERRORS

# intake error field -> form field
_FIELD_MAP = {
    "customer.name": "name", "customer.phone": "phone", "customer.email": "email",
    "customer.preferred_channel": "preferred_channel",
}
_DONE_KEY = "channels_complaint_done"


def _put_errors(form: Any, error: InvalidInput) -> None:
    for field, message in getattr(error, "errors", [(error.field, error.message)]):
        name = _FIELD_MAP.get(field or "", field)
        form.add_error(name if name in form.fields else None, message)


def _language() -> str:
    return "en" if (translation.get_language() or "").startswith("en") else "zh-hans"


@never_cache
@require_http_methods(["GET", "POST"])
def complain(request: HttpRequest) -> HttpResponse:
    """The public complaint form 官网表单."""
    if request.method == "GET":
        form = PublicComplaintForm(initial={"submission_id": uuid.uuid4().hex})
        return render(request, "channels/complain.html", {"form": form})
    throttle = throttling.ComplaintFormThrottle()
    if not throttle.allow_request(request, None):
        retry_after = throttle.retry_after()
        response = render(request, "channels/complain.html", {
            "form": PublicComplaintForm(initial=request.POST.dict()),
            "throttled": True, "retry_minutes": max(1, retry_after // 60),
        }, status=429)
        response["Retry-After"] = str(retry_after)
        return response
    form = PublicComplaintForm(request.POST, request.FILES)
    if form.is_spam:
        # A bot filled the hidden field: it sees a thank-you page, nothing is stored.
        request.session.pop(_DONE_KEY, None)
        return redirect("channels:complain_done")
    if form.is_valid():
        c = form.cleaned_data
        data = IntakeData(
            customer=CustomerData(
                name=c["name"], phone=c["phone"], email=c["email"],
                preferred_channel=c["preferred_channel"], language=_language(),
            ),
            channel=ChannelKind.WEB, source_id=channel_for("web").pk,
            external_id=f"web-{c['submission_id']}" if c["submission_id"] else "",
            category=c["category"],
            subject=c["subject"], description=c["description"], order_ref=c["order_ref"],
            occurred_at=c["occurred_at"], desired_outcome=c["desired_outcome"],
        )
        try:
            result = complaint_submit(actor=None, data=data, attachments=c["attachments"])
        except InvalidInput as exc:
            _put_errors(form, exc)
        except REDIS_DOWN_ERRORS:
            # The form keeps what the customer typed (its submission id makes a resend safe).
            form.add_error(None, _("We could not save your complaint just now. What you typed "
                                   "is kept below: please send it again in a minute."))
            response = render(request, "channels/complain.html", {"form": form}, status=503)
            response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
            return response
        else:
            request.session[_DONE_KEY] = {
                "reference": result.case.reference, "tracking_code": result.case.tracking_code,
            }
            return redirect("channels:complain_done")
    return render(request, "channels/complain.html", {"form": form}, status=400)


@never_cache
@require_GET
def complain_done(request: HttpRequest) -> HttpResponse:
    done = request.session.get(_DONE_KEY) or {}
    return render(request, "channels/complain_done.html", {
        "reference": done.get("reference"), "tracking_code": done.get("tracking_code"),
    })


@never_cache
@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    """Progress lookup 进度查询: reference + tracking code.
    A wrong reference and a wrong code get the same answer; lookups are rate limited per
    address and failed ones per reference, so codes cannot be guessed or cases listed."""
    if request.method == "GET":
        form = TrackForm(initial={"reference": request.GET.get("reference", "")[:24]})
        return render(request, "channels/track.html", {"form": form})
    form = TrackForm(request.POST)
    context: dict[str, Any] = {"form": form}
    throttle = throttling.TrackThrottle()
    if not throttle.allow_request(request, None):
        return _track_throttled(request, context, throttle)
    if not form.is_valid():
        return render(request, "channels/track.html", context, status=400)
    reference, code = form.cleaned_data["reference"], form.cleaned_data["code"]
    failures = (throttling.TrackReferenceAddressThrottle(reference),
                throttling.TrackReferenceThrottle(reference))
    for limit in failures:
        if limit.used_up(request):
            return _track_throttled(request, context, limit)
    case = case_for_tracking(reference=reference, code=code)
    if case is None:
        for limit in failures:
            limit.allow_request(request, None)  # counts this failed lookup
        context["not_found"] = True
        return render(request, "channels/track.html", context, status=404)
    return _track_result(request, context, case, reference=reference, code=code)


def _track_result(request: HttpRequest, context: dict[str, Any], case: Case, *,
                  reference: str, code: str, review_form: TrackReviewForm | None = None,
                  status: int = 200) -> HttpResponse:
    if review_form is None and review_possible(case):
        review_form = TrackReviewForm(initial={"reference": reference, "code": code})
    context.update(case=case, timeline=tracking_timeline(case), form=TrackForm(),
                   due_dates=tracking_due_dates(case),
                   pause=open_pause_for_tracking(case),
                   stage_label=PUBLIC_STAGE_LABELS.get(case.stage, case.stage),
                   statutory=statutory_for_tracking(case), review_form=review_form)
    return render(request, "channels/track.html", context, status=status)


@never_cache
@require_POST
def track_review(request: HttpRequest) -> HttpResponse:
    """A review request 申请核查 from the progress page: the lookup's reference and code
    again, and the reason. Rate-limited per address; a wrong code counts as a failed lookup."""
    context: dict[str, Any] = {"form": TrackForm()}
    throttle = throttling.ReviewRequestThrottle()
    if not throttle.allow_request(request, None):
        return _track_throttled(request, context, throttle)
    form = TrackReviewForm(request.POST)
    reference = str(form["reference"].value() or "").strip().upper()[:24]
    failures = (throttling.TrackReferenceAddressThrottle(reference),
                throttling.TrackReferenceThrottle(reference))
    for limit in failures:
        if limit.used_up(request):
            return _track_throttled(request, context, limit)
    case = None
    if form.is_valid() or ("reference" not in form.errors and "code" not in form.errors):
        case = case_for_tracking(reference=form.cleaned_data["reference"],
                                 code=form.cleaned_data["code"])
    if case is None:
        for limit in failures:
            limit.allow_request(request, None)
        context["not_found"] = True
        return render(request, "channels/track.html", context, status=404)
    code = form.cleaned_data["code"]
    if form.is_valid():
        try:
            review_request(case_id=case.pk, reason=form.cleaned_data["reason"],
                           via=ReviewVia.TRACK)
        except InvalidInput as exc:
            form.add_error("reason", exc.message)
        except (ActionNotAllowed, CaseBusy) as exc:
            form.add_error(None, exc.message)
        else:
            case.refresh_from_db()
            context["review_sent"] = True
            return _track_result(request, context, case, reference=case.reference, code=code)
    return _track_result(request, context, case, reference=case.reference, code=code,
                         review_form=form, status=400)


def _track_throttled(request: HttpRequest, context: dict[str, Any],
                     throttle: throttling.ChannelThrottle) -> HttpResponse:
    context["throttled"] = True
    response = render(request, "channels/track.html", context, status=429)
    response["Retry-After"] = str(throttle.retry_after())
    return response


def _case_url(case: Case) -> str:
    for name in ("desk:case_detail", "desk:case"):
        try:
            return reverse(name, args=[case.pk])
        except NoReverseMatch:
            continue
    return reverse("channels:log_complaint")


@login_required
@require_http_methods(["GET", "POST"])
def log_complaint(request: HttpRequest) -> HttpResponse:
    """The desk's page for hotline calls, store walk-ins and letters: find the customer by
    phone or email (or enter a new one) and log the complaint; the agent becomes its
    first-contact owner."""
    if not is_agent(request.user):
        raise PermissionDenied
    lookup = CustomerLookupForm(request.GET or None)
    matches = customer_search(lookup.cleaned_data["q"]) if lookup.is_valid() else []
    chosen = None
    customer_id = parse_id(request.GET.get("customer"))
    if customer_id is not None:
        chosen = Customer.objects.filter(pk=customer_id).first()
    if request.method == "POST":
        form = DeskComplaintForm(request.POST, request.FILES)
        if form.is_valid():
            c = form.cleaned_data
            customer = c.get("customer")
            data = IntakeData(
                customer=CustomerData(
                    name=c["name"], phone=c["phone"] or (customer.phone if customer else ""),
                    email=c["email"] or (customer.email if customer else ""),
                    preferred_channel=c["preferred_channel"],
                    is_key_customer=c["is_key_customer"],
                    language=customer.language if customer else _language(),
                ),
                channel=c["channel"], source_id=channel_for(c["channel"].replace("_", "-")).pk,
                category=c["category"], subject=c["subject"], description=c["description"],
                order_ref=c["order_ref"], location=c["location"], occurred_at=c["occurred_at"],
                desired_outcome=c["desired_outcome"], urgency=c["urgency"], scope=c["scope"],
                difficulty=c["difficulty"], regime=c["regime"].code if c["regime"] else "",
                regulator_reference=c["regulator_reference"],
                regulator_due_at=c["regulator_due_at"],
            )
            try:
                result = complaint_submit(actor=request.user, data=data,
                                          attachments=c["attachments"])
            except InvalidInput as exc:
                _put_errors(form, exc)
            else:
                messages.success(request, _("Complaint %(ref)s logged; you are its first-contact "
                                            "owner.") % {"ref": result.case.reference})
                return redirect(_case_url(result.case))
        status = 400
    else:
        initial: dict[str, Any] = {}
        if chosen is not None:
            initial = {"customer": chosen.pk, "name": chosen.name, "phone": chosen.phone,
                       "email": chosen.email, "preferred_channel": chosen.preferred_channel,
                       "is_key_customer": chosen.is_key_customer}
        elif lookup.is_valid() and not matches:
            q = lookup.cleaned_data["q"]
            initial = {"email": q} if "@" in q else {"phone": q}
        form = DeskComplaintForm(initial=initial)
        status = 200
    return render(request, "channels/log_complaint.html", {
        "form": form, "lookup": lookup, "matches": matches, "chosen": chosen,
        "searched": lookup.is_valid() and bool(lookup.cleaned_data["q"]),
    }, status=status)


@login_required
@require_GET
def attachment_download(request: HttpRequest, pk: int) -> HttpResponse:
    """A case attachment, for staff who may see it (``attachments_visible_to``; anyone else
    gets a 404): always a download, never inline."""
    attachment = get_object_or_404(attachments_visible_to(request.user), pk=pk)
    try:
        handle = private_storage().open(attachment.file.name, "rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.original_name,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
