from django.urls import include, path

from . import views

number_patterns = [
    path("", views.number_list, name="list"),
    path("add/", views.number_create, name="add"),
    path("export.csv", views.number_export, name="export"),
    path("bulk/", views.number_bulk, name="bulk"),
    path("import/", views.import_upload, name="import"),
    path("import/<int:pk>/", views.import_job, name="import-job"),
    path("import/<int:pk>/apply/", views.import_job_apply, name="import-apply"),
    path("import/<int:pk>/recheck/", views.import_job_recheck, name="import-recheck"),
    path("twilio/", views.twilio_import, name="twilio"),
    path("twilio/credentials/", views.twilio_credentials, name="twilio_credentials"),
    path("twilio/credentials/delete/", views.twilio_credentials_delete, name="twilio_credentials_delete"),
    path("twilio/sync/", views.twilio_sync, name="twilio_sync"),
    path("<int:pk>/", views.number_detail, name="detail"),
    path("<int:pk>/delete/", views.number_delete, name="delete"),
    path("<int:pk>/activate/", views.number_activate, name="activate"),
    path("<int:pk>/deactivate/", views.number_deactivate, name="deactivate"),
]

trunk_patterns = [
    path("", views.trunk_list, name="list"),
    path("add/", views.trunk_form, name="add"),
    path("<int:pk>/", views.trunk_form, name="edit"),
    path("<int:pk>/delete/", views.trunk_delete, name="delete"),
]

urlpatterns = [
    path("activity/", views.activity, name="activity"),
    path("numbers/", include((number_patterns, "numbers"))),
    path("trunks/", include((trunk_patterns, "trunks"))),
]
