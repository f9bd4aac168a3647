"""The public satisfaction survey page. The customer arrives from the link in the survey
notice; the signed token is all the authority there is. Every outcome is a polite page:
a changed link (404), an expired one (410), one answered already (200, thank you)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.cache import never_cache

from cases.models import Revisit
from cases.services.errors import CaseBusy, InvalidInput
from cases.services.revisits import (
    COMMENT_MAX_LENGTH,
    SurveyAlreadyAnswered,
    SurveyLinkExpired,
    SurveyLinkInvalid,
    survey_answer,
    survey_revisit_for_token,
)

SCORES = [
    (5, _("5 — very satisfied")),
    (4, _("4 — satisfied")),
    (3, _("3 — neither satisfied nor dissatisfied")),
    (2, _("2 — dissatisfied")),
    (1, _("1 — very dissatisfied")),
]


class SurveyForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("How satisfied are you with how we handled your complaint?"), choices=SCORES,
        coerce=int, widget=forms.RadioSelect,
        error_messages={"required": _("Choose a score from 1 to 5.")},
    )
    comment = forms.CharField(
        label=_("Anything you would like to tell us? (optional)"), required=False,
        max_length=COMMENT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 4}),
    )


def page_language(request: HttpRequest, customer_language: str | None) -> str:
    """?lang= when the customer switched, else the customer's language, else the browser's."""
    codes = {code for code, _name in settings.LANGUAGES}
    chosen = request.GET.get("lang") or request.POST.get("lang")
    if chosen in codes:
        return chosen
    if customer_language in codes:
        return customer_language
    return translation.get_language_from_request(request)


def _language(request: HttpRequest, revisit: Revisit | None) -> str:
    return page_language(request, revisit.case.customer.language if revisit else None)


@method_decorator(never_cache, name="dispatch")
class SurveyView(View):
    template_name = "cases/survey/answer.html"

    def _problem(self, request: HttpRequest, exc: Exception, status: int) -> HttpResponse:
        lang = _language(request, None)
        with translation.override(lang):
            return render(request, "cases/survey/problem.html", {
                "message": str(exc), "lang": lang, "expired": isinstance(exc, SurveyLinkExpired),
            }, status=status)

    def _answered(self, request: HttpRequest, token: str, exc: Exception) -> HttpResponse:
        lang = _language(request, None)
        with translation.override(lang):
            return render(request, "cases/survey/thanks.html", {
                "lang": lang, "just_answered": request.GET.get("answered") == "1",
                "message": str(exc), "token": token,
            })

    def _load(self, request: HttpRequest, token: str) -> Revisit | HttpResponse:
        try:
            return survey_revisit_for_token(token)
        except SurveyLinkInvalid as exc:
            return self._problem(request, exc, 404)
        except SurveyLinkExpired as exc:
            return self._problem(request, exc, 410)
        except SurveyAlreadyAnswered as exc:
            return self._answered(request, token, exc)

    def _form_page(
        self, request: HttpRequest, revisit: Revisit, token: str, form: SurveyForm, lang: str,
        status: int = 200,
    ) -> HttpResponse:
        context: dict[str, Any] = {
            "form": form, "lang": lang, "reference": revisit.case.reference,
            "token": token,
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        loaded = self._load(request, token)
        if isinstance(loaded, HttpResponse):
            return loaded
        lang = _language(request, loaded)
        with translation.override(lang):
            return self._form_page(request, loaded, token, SurveyForm(), lang)

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        loaded = self._load(request, token)
        if isinstance(loaded, HttpResponse):
            return loaded
        lang = _language(request, loaded)
        with translation.override(lang):
            form = SurveyForm(request.POST)
            if form.is_valid():
                try:
                    survey_answer(token=token, score=form.cleaned_data["score"],
                                  comment=form.cleaned_data["comment"])
                except InvalidInput as exc:
                    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                except CaseBusy as exc:
                    form.add_error(None, exc.message)
                except SurveyAlreadyAnswered as exc:
                    return self._answered(request, token, exc)
                except (SurveyLinkInvalid, SurveyLinkExpired) as exc:
                    return self._problem(request, exc, 410 if isinstance(
                        exc, SurveyLinkExpired) else 404)
                else:
                    url = reverse("survey:answer", args=[token])
                    return HttpResponseRedirect(
                        f"{url}?{urlencode({'answered': 1, 'lang': lang})}"
                    )
            return self._form_page(request, loaded, token, form, lang, status=400)
