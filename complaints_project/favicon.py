"""/favicon.ico: browsers and bookmarks ask for it at the root whatever the page links."""

from __future__ import annotations

from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe


@require_safe
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """A permanent redirect to the static (hashed under the manifest storage) icon."""
    return HttpResponsePermanentRedirect(staticfiles_storage.url("favicon.ico"))
