from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("api/", include("kalem_site.api.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "kalem_site.api.views.not_found_handler"
handler500 = "kalem_site.api.views.server_error_handler"
