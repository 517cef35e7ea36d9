from django.urls import include, path

from .views import activity, imports, jobs, numbers, overview, trunks, twilio

number_patterns = [
    path("", numbers.number_list, name="list"),
    path("add/", numbers.number_create, name="add"),
    path("export.csv", numbers.number_export, name="export"),
    path("bulk/", numbers.number_bulk, name="bulk"),
    path("bulk/<int:pk>/", numbers.bulk_job, name="bulk-job"),
    path("import/", imports.import_upload, name="import"),
    path("import/<int:pk>/", imports.import_job, name="import-job"),
    path("import/<int:pk>/apply/", imports.import_job_apply, name="import-apply"),
    path("import/<int:pk>/recheck/", imports.import_job_recheck, name="import-recheck"),
    path("import/<int:pk>/resume/", imports.import_job_resume_view, name="import-resume"),
    path("twilio/", twilio.twilio_import, name="twilio"),
    path("twilio/credentials/", twilio.twilio_credentials, name="twilio_credentials"),
    path("twilio/credentials/delete/", twilio.twilio_credentials_delete, name="twilio_credentials_delete"),
    path("twilio/sync/", twilio.twilio_sync, name="twilio_sync"),
    path("twilio/sync/<int:pk>/", twilio.twilio_sync_job, name="twilio_sync_job"),
    path("<int:pk>/", numbers.number_detail, name="detail"),
    path("<int:pk>/delete/", numbers.number_delete, name="delete"),
    path("<int:pk>/activate/", numbers.number_activate, name="activate"),
    path("<int:pk>/deactivate/", numbers.number_deactivate, name="deactivate"),
]

trunk_patterns = [
    path("", trunks.trunk_list, name="list"),
    path("add/", trunks.trunk_form, name="add"),
    path("<int:pk>/", trunks.trunk_form, name="edit"),
    path("<int:pk>/delete/", trunks.trunk_delete, name="delete"),
]

urlpatterns = [
    path("", overview.overview, name="home"),
    path("activity/", activity.activity, name="activity"),
    path("jobs/", jobs.job_list, name="jobs"),
    path("numbers/", include((number_patterns, "numbers"))),
    path("trunks/", include((trunk_patterns, "trunks"))),
]
