"""Database helpers shared by the services of every app."""

from django.db import models
from django.utils import timezone


def save_changed_fields(instance: models.Model, fields: list[str]) -> None:
    """UPDATE just these columns (and `updated_at`) of an existing row, in one statement.

    Saving only what changed keeps two concurrent edits of different fields from undoing each
    other. A row deleted meanwhile raises the model's DoesNotExist (the API answers 404)
    rather than a 500, or a plain save() quietly inserting the deleted row again."""
    if not fields:
        return
    instance.updated_at = timezone.now()
    values = {field: getattr(instance, field) for field in [*fields, "updated_at"]}
    if not type(instance)._base_manager.filter(pk=instance.pk).update(**values):
        raise type(instance).DoesNotExist(f"{type(instance).__name__} {instance.pk} was deleted.")
