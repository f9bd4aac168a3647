"""``{{ text|masked_for:request.user }}``: case text with the personal data typed into it
masked unless the user may see customer contact data (see ``cases.masking.text_for``). Apply
it before truncating, so a cut never leaves part of a number in clear."""

from __future__ import annotations

from django import template

from cases.masking import text_for

register = template.Library()


@register.filter
def masked_for(value: object, user: object) -> str:
    return text_for(user, "" if value is None else str(value))
