from django.urls import path

from channels.webhooks.docs import WebhookDocsView

urlpatterns = [
    path("api/v1/webhooks", WebhookDocsView.as_view(), name="docs"),
]
