"""The public satisfaction survey (/survey/<token>/): no login, the signed token is the key."""

from django.urls import path

from cases.views import survey

urlpatterns = [
    path("<str:token>/", survey.SurveyView.as_view(), name="answer"),
]
