"""The shared board for department liaisons and agents (namespace ``board``)."""

from django.urls import path

from cases.views import board, mentions

urlpatterns = [
    path("", board.index, name="index"),
    path("new/<int:case_id>/", board.request_new, name="new"),
    path("requests/<int:pk>/", board.request_detail, name="request"),
    path("requests/<int:pk>/move/<slug:action>/", board.request_action, name="action"),
    path("requests/<int:pk>/todos/", board.todo_add, name="todo_add"),
    path("requests/<int:pk>/todos/<int:todo_id>/toggle/", board.todo_toggle, name="todo_toggle"),
    path("requests/<int:pk>/notes/", board.note_add, name="note_add"),
    path("requests/<int:pk>/mentions/", mentions.request_mentions, name="request_mentions"),
]
