import json

from django.urls import path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView

from channels import api, api_messages, views

urlpatterns = [
    path("complain/", views.complain, name="complain"),
    path("complain/thanks/", views.complain_done, name="complain_done"),
    path("track/", views.track, name="track"),
    path("track/review/", views.track_review, name="track_review"),
    path("desk/log/", views.log_complaint, name="log_complaint"),
    path("desk/attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("api/v1/complaints", api.ComplaintCreateView.as_view(), name="api_complaints"),
    path("api/v1/complaints/<str:reference>", api.ComplaintStatusView.as_view(),
         name="api_complaint"),
    path("api/v1/complaints/<str:reference>/messages",
         api_messages.ComplaintMessageCreateView.as_view(), name="api_complaint_messages"),
    path("api/v1/schema", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/v1/docs", TemplateView.as_view(
        template_name="channels/api_docs.html",
        extra_context={
            "example_request": json.dumps(api.EXAMPLE_REQUEST, ensure_ascii=False, indent=2),
            "example_response": json.dumps(api.EXAMPLE_RESPONSE, ensure_ascii=False, indent=2),
        },
    ), name="api_docs"),
]
