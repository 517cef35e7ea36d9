from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from kalem_site.accounts.views import account_settings

urlpatterns = [
    path("api/", include("kalem_site.api.urls")),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin, the API docs).
    path("favicon.ico", lambda request: redirect(static("favicon.svg"))),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("settings/account/", account_settings, name="account_settings"),
    path("settings/tokens/", include("kalem_site.accounts.urls")),
    path("", include("numbers_app.urls")),
    path("", include("agents_app.urls")),
    path("", include("webhooks_app.urls")),
]

handler400 = "kalem_site.api.views.bad_request_handler"
handler404 = "kalem_site.api.views.not_found_handler"
handler500 = "kalem_site.api.views.server_error_handler"
