"""The final-response letter 答复函 at the feedback step: compose with a preview, send, and
print a letter as it was sent."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from cases.letter_forms import LetterForm
from cases.models import Case, FinalLetter, LetterMode
from cases.services import ConflictError, DomainError
from cases.services.desk_config import desk_config
from cases.services.letters import LetterParts, letter_draft, letter_prefill, letter_send
from cases.views.actions import ACTIONS, case_url
from cases.views.base import AgentOr404Mixin, get_case_or_404


def _parts(form: LetterForm) -> LetterParts:
    d = form.cleaned_data
    return LetterParts(facts=d["facts"], decision=d["decision"], reasons=d["reasons"],
                       measures=d["measures"])


class CaseLetterView(AgentOr404Mixin, View):
    """GET: the letter form prefilled from the case, with its preview. POST ``intent=preview``
    shows the letter and what stops it from being sent; ``intent=send`` sends it as the
    feedback. 404 unless the user may give this case's feedback and the desk uses letters."""

    template_name = "cases/workspace/letter.html"

    def _case(self, request: HttpRequest, pk: int) -> Case:
        case = get_case_or_404(request, pk, for_action=True)
        if (desk_config().settings.letter_mode == LetterMode.OFF
                or not ACTIONS["give_feedback"].permitted(case, request.user)):
            raise Http404(_("No such case."))
        return case

    def _render(self, request: HttpRequest, case: Case, form: LetterForm, parts: LetterParts,
                status: int = 200) -> HttpResponse:
        draft = letter_draft(case=case, parts=parts)
        return render(request, self.template_name,
                      {"case": case, "form": form, "draft": draft}, status=status)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = self._case(request, pk)
        if not ACTIONS["give_feedback"].available(case):
            messages.warning(request, _("A letter is sent at the feedback step, once the case "
                                        "is resolved."))
            return redirect(case_url(case))
        parts = letter_prefill(case)
        form = LetterForm(case=case, user=request.user, initial=vars(parts))
        return self._render(request, case, form, parts)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = self._case(request, pk)
        form = LetterForm(request.POST, case=case, user=request.user)
        if not form.is_valid():
            return self._render(request, case, form, LetterParts(), status=400)
        parts = _parts(form)
        if request.POST.get("intent") != "send":
            return self._render(request, case, form, parts)
        try:
            letter_send(actor=request.user, case_id=case.pk, parts=parts,
                        expected_version=form.expected_version)
        except ConflictError as exc:
            messages.error(request, exc.message)
            return redirect(case_url(case))
        except DomainError as exc:
            field = getattr(exc, "field", None)
            form.add_error(field if field in form.fields else None, exc.message)
            return self._render(request, case, form, parts, status=400)
        messages.success(request, _("Final-response letter sent to the customer. The "
                                    "satisfaction revisit is due in 48 hours."))
        return redirect(f"{case_url(case)}#letters")


class CaseLetterPrintView(AgentOr404Mixin, View):
    """A letter as it was sent, on a page made for printing."""

    def get(self, request: HttpRequest, pk: int, letter_pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk)
        letter = get_object_or_404(FinalLetter.objects.select_related("sent_by"),
                                   pk=letter_pk, case=case)
        return render(request, "cases/workspace/letter_print.html",
                      {"case": case, "letter": letter})
