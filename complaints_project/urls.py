from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from complaints_project import favicon, health, i18n, landing
from complaints_project.password_reset import LimitedPasswordResetView

urlpatterns = [
    path("", landing.landing, name="landing"),
    path("home/", landing.account_home, name="account_home"),
    path("favicon.ico", favicon.favicon, name="favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", i18n.set_language, name="set_language"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_reset/", LimitedPasswordResetView.as_view(),
         name="password_reset"),
    path("accounts/password_reset/done/", auth_views.PasswordResetDoneView.as_view(),
         name="password_reset_done"),
    path("accounts/reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(),
         name="password_reset_complete"),
    path("desk/", include(("cases.urls_desk", "desk"))),
    path("board/", include(("cases.urls_board", "board"))),
    path("survey/", include(("cases.urls_survey", "survey"))),
    path("reports/", include(("reporting.urls", "reports"))),
    path("", include(("channels.webhooks.urls", "webhooks"))),
    path("", include(("channels.urls", "channels"))),
]

handler403 = "complaints_project.errors.permission_denied"
handler404 = "complaints_project.errors.page_not_found"
handler500 = "complaints_project.errors.server_error"
