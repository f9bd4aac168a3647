"""The password-reset request page: Django's view, limited per client address and per e-mail
address (each request may send a mail)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import PasswordResetView
from django.http import HttpRequest, HttpResponse

from channels.throttling import (
    ChannelThrottle,
    PasswordResetEmailThrottle,
    PasswordResetThrottle,
)


class LimitedPasswordResetView(PasswordResetView):
    """Past either limit the form is shown again with a message, HTTP 429 and Retry-After,
    and no mail is sent. The answer for a known and an unknown address stays the same."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        throttles: list[ChannelThrottle] = [
            PasswordResetThrottle(), PasswordResetEmailThrottle(request.POST.get("email", ""))]
        refused = [t for t in throttles if not t.allow_request(request, None)]
        if refused:
            wait = max(t.retry_after() for t in refused)
            context = self.get_context_data(form=self.get_form(),
                                            retry_minutes=max(1, -(-wait // 60)))
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)
