"""The agent desk (/desk/): queues, case lists, the case workspace and its actions."""

from django.urls import path

from cases.views import (
    actions,
    desk,
    letters,
    macros,
    pauses,
    saved_filters,
    statutory,
    workspace,
)

urlpatterns = [
    path("", desk.DeskHomeView.as_view(), name="home"),
    path("cases/", desk.CaseListView.as_view(), name="cases"),
    path("cases/bulk/", desk.BulkActionView.as_view(), name="bulk"),
    path("cases/<int:pk>/", workspace.CaseWorkspaceView.as_view(), name="case"),
    path("cases/<int:pk>/note/", workspace.CaseNoteView.as_view(), name="case_note"),
    path("cases/<int:pk>/reply/", workspace.CaseReplyView.as_view(), name="case_reply"),
    path("cases/<int:pk>/macros/", macros.CaseMacroListView.as_view(), name="case_macros"),
    path("cases/<int:pk>/letter/", letters.CaseLetterView.as_view(), name="case_letter"),
    path("cases/<int:pk>/letters/<int:letter_pk>/", letters.CaseLetterPrintView.as_view(),
         name="case_letter_print"),
    path("cases/<int:pk>/pause/", pauses.CasePauseView.as_view(), name="case_pause"),
    path("cases/<int:pk>/resume/", pauses.CaseResumeView.as_view(), name="case_resume"),
    path("cases/<int:pk>/do/<slug:action>/", actions.CaseActionView.as_view(),
         name="case_action"),
    path("cases/<int:pk>/compensation/<int:comp_pk>/decide/",
         actions.compensation_decide_view, name="compensation_decide"),
    path("cases/<int:pk>/extension/", statutory.ExtensionRequestView.as_view(),
         name="extension_request"),
    path("cases/<int:pk>/extension/<int:ext_pk>/decide/",
         statutory.ExtensionDecideView.as_view(), name="extension_decide"),
    path("filters/", saved_filters.SavedFilterListView.as_view(), name="saved_filters"),
    path("filters/<int:pk>/", saved_filters.SavedFilterApplyView.as_view(),
         name="saved_filter"),
    path("filters/<int:pk>/rename/", saved_filters.SavedFilterRenameView.as_view(),
         name="saved_filter_rename"),
    path("filters/<int:pk>/delete/", saved_filters.SavedFilterDeleteView.as_view(),
         name="saved_filter_delete"),
    path("alerts/", desk.AlertListView.as_view(), name="alerts"),
    path("preferences/", desk.PreferencesView.as_view(), name="preferences"),
]
