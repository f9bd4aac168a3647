"""The review request 申请核查 from the survey link (/survey/<token>/review/): the signed
survey link is the authority, as for the survey itself. Available once feedback was given and
only once per case; rate-limited per address like the other public forms."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.cache import never_cache

from cases.models import Case, ReviewVia
from cases.services.errors import ActionNotAllowed, CaseBusy, InvalidInput
from cases.services.reviews import REASON_MAX_LENGTH, review_possible, review_request
from cases.services.revisits import SurveyLinkExpired, SurveyLinkInvalid, survey_case_for_token
from cases.views.survey import page_language
from channels import throttling


class ReviewRequestForm(forms.Form):
    reason = forms.CharField(
        label=_("Why are you not satisfied with our answer?"), max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": REASON_MAX_LENGTH}),
        error_messages={"required": _("Tell us why you are not satisfied with our answer.")},
    )


def _language(request: HttpRequest, case: Case | None) -> str:
    return page_language(request, case.customer.language if case else None)


@method_decorator(never_cache, name="dispatch")
class ReviewRequestView(View):
    template_name = "cases/survey/review.html"

    def _page(self, request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
        return render(request, self.template_name, context, status=status)

    def _load(self, request: HttpRequest, token: str) -> Case | HttpResponse:
        try:
            return survey_case_for_token(token)
        except (SurveyLinkInvalid, SurveyLinkExpired) as exc:
            expired = isinstance(exc, SurveyLinkExpired)
            with translation.override(_language(request, None)):
                return render(request, "cases/survey/problem.html", {
                    "message": str(exc), "expired": expired,
                }, status=410 if expired else 404)

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        case = self._load(request, token)
        if isinstance(case, HttpResponse):
            return case
        lang = _language(request, case)
        with translation.override(lang):
            return self._page(request, {
                "case": case, "lang": lang, "token": token, "form": ReviewRequestForm(),
                "possible": review_possible(case), "sent": request.GET.get("sent") == "1",
            })

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        case = self._load(request, token)
        if isinstance(case, HttpResponse):
            return case
        lang = _language(request, case)
        with translation.override(lang):
            form = ReviewRequestForm(request.POST)
            context = {"case": case, "lang": lang, "token": token, "form": form,
                       "possible": True}
            throttle = throttling.ReviewRequestThrottle()
            if not throttle.allow_request(request, None):
                context["throttled"] = True
                response = self._page(request, context, status=429)
                response["Retry-After"] = str(throttle.retry_after())
                return response
            if form.is_valid():
                try:
                    review_request(case_id=case.pk, reason=form.cleaned_data["reason"],
                                   via=ReviewVia.SURVEY)
                except InvalidInput as exc:
                    form.add_error("reason", exc.message)
                except (ActionNotAllowed, CaseBusy) as exc:
                    form.add_error(None, exc.message)
                else:
                    url = reverse("survey:review", args=[token])
                    return HttpResponseRedirect(f"{url}?{urlencode({'sent': 1, 'lang': lang})}")
            return self._page(request, context, status=400)
