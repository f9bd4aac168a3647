"""The public satisfaction survey (/survey/<token>/): no login, the signed token is the key."""

from django.urls import path

from cases.views import survey, survey_review

urlpatterns = [
    path("<str:token>/", survey.SurveyView.as_view(), name="answer"),
    path("<str:token>/review/", survey_review.ReviewRequestView.as_view(), name="review"),
]
