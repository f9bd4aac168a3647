"""The agent desk (/desk/): queues, case lists, the case workspace and its actions."""

from django.urls import path

from cases.views import actions, desk, workspace

urlpatterns = [
    path("", desk.DeskHomeView.as_view(), name="home"),
    path("cases/", desk.CaseListView.as_view(), name="cases"),
    path("cases/bulk/", desk.BulkActionView.as_view(), name="bulk"),
    path("cases/<int:pk>/", workspace.CaseWorkspaceView.as_view(), name="case"),
    path("cases/<int:pk>/note/", workspace.CaseNoteView.as_view(), name="case_note"),
    path("cases/<int:pk>/do/<slug:action>/", actions.CaseActionView.as_view(),
         name="case_action"),
    path("cases/<int:pk>/compensation/<int:comp_pk>/decide/",
         actions.compensation_decide_view, name="compensation_decide"),
    path("alerts/", desk.AlertListView.as_view(), name="alerts"),
    path("preferences/", desk.PreferencesView.as_view(), name="preferences"),
]
