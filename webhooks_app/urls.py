from django.urls import include, path

from . import views

webhook_patterns = [
    path("", views.webhook_list, name="list"),
    path("add/", views.webhook_form, name="add"),
    path("<int:pk>/", views.webhook_detail, name="detail"),
    path("<int:pk>/edit/", views.webhook_form, name="edit"),
    path("<int:pk>/delete/", views.webhook_delete, name="delete"),
    path("<int:pk>/enable/", views.webhook_set_enabled, {"enabled": True}, name="enable"),
    path("<int:pk>/disable/", views.webhook_set_enabled, {"enabled": False}, name="disable"),
    path("<int:pk>/rotate-secret/", views.webhook_rotate, name="rotate"),
    path("<int:pk>/test/", views.webhook_test, name="test"),
    path("<int:pk>/deliveries/<int:delivery_id>/resend/", views.delivery_resend, name="resend"),
]

urlpatterns = [path("webhooks/", include((webhook_patterns, "webhooks")))]
