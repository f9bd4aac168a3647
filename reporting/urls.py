"""/reports/ (namespace "reports")."""

from django.urls import path

from reporting import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("root-causes/", views.root_causes, name="root_causes"),
    path("reviews/", views.review_list, name="reviews"),
    path("reviews/build/", views.review_build, name="review_build"),
    path("reviews/<int:pk>/", views.review_detail, name="review"),
    path("reviews/<int:pk>/export.<str:fmt>", views.review_export, name="review_export"),
    path("reviews/<int:pk>/actions/new/", views.action_create, name="action_create"),
    path("actions/", views.action_list, name="actions"),
    path("actions/<int:pk>/edit/", views.action_update, name="action_update"),
    path("export/kpis.<str:fmt>", views.export_kpis, name="export_kpis"),
    path("export/cases.<str:fmt>", views.export_cases, name="export_cases"),
]
