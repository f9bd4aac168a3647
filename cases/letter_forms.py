"""The final-response letter form: the parts the agent writes (the service checks them)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from cases.forms import ActionForm, DeskText


class LetterForm(ActionForm):
    facts = DeskText(label=_("The facts as established"), required=False, rows=5)
    decision = DeskText(label=_("The decision"), required=False, rows=3)
    reasons = DeskText(label=_("The reasons for the decision"), required=False, rows=3)
    measures = DeskText(label=_("Preventive measures"), required=False, rows=3,
                        help_text=_("What was changed so that it does not happen again."))
