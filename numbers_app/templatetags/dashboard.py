"""Template tags of the dashboard pages."""

import copy

from django import template
from django.forms import BoundField

register = template.Library()


@register.simple_tag
def choice_select(bound_field: BoundField, empty: str = "", autosubmit: bool = False, **attrs) -> str:
    """A form's choice field as its <select>, the choices and the selected one coming from the
    form: `empty` names the field's empty choice ("All", "Any") instead of "---------";
    `autosubmit` marks the select for app.js to send its form on change (without JavaScript,
    the form's own button does); other keywords are HTML attributes (`id="direction"`)."""
    field = bound_field.field
    widget = copy.copy(field.widget)
    widget.choices = [(value, empty if value == "" and empty else label) for value, label in field.choices]
    if autosubmit:
        attrs["data-autosubmit"] = True
    return widget.render(bound_field.html_name, bound_field.value(), attrs={"id": bound_field.auto_id, **attrs})
