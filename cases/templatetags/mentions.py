"""``with_mentions``: note text as HTML with its ``@`` mentions as badges."""

from __future__ import annotations

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from cases.selectors.mentions import find_mentions

register = template.Library()


@register.filter
def with_mentions(value: object) -> SafeString:
    """Escaped text, line breaks as <br>, each mention of a person or department a badge
    (no query when the text has no "@"; the mention directory is cached)."""
    text = "" if value is None else str(value)
    parts, last = [], 0
    for mention in find_mentions(text):
        parts.append(escape(text[last:mention.start]))
        icon = "person" if mention.target.kind == "user" else "diagram-3"
        parts.append(format_html(
            '<span class="badge rounded-pill text-bg-secondary mention" data-mention="{}" '
            'title="{}"><i class="bi bi-{}"></i> {}</span>', mention.target.kind,
            mention.target.label, icon, text[mention.start:mention.end]))
        last = mention.end
    parts.append(escape(text[last:]))
    html = "".join(parts).replace("\r\n", "\n").replace("\n", "<br>")
    return mark_safe(html)  # noqa: S308 - every piece above is escaped
