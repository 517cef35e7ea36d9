from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "kalem_site.tasks"
    label = "kalem_tasks"
    verbose_name = "Background tasks"
