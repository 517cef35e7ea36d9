"""Form widgets of the dashboard pages."""

from django import forms
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe


def _attrs_html(attrs: dict) -> str:
    # As django/forms/widgets/attrs.html: False leaves the attribute out, True writes its name.
    return "".join(
        f" {conditional_escape(name)}" if value is True else f' {conditional_escape(name)}="{escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def select_html(name: str, choices, selected: list[str], attrs: dict) -> SafeString:
    """A <select> of flat choices, byte for byte what Django's select.html and
    select_option.html templates render (one selected option at most, as a Select), in
    Python: through the template engine, a select with twenty options cost about half a
    millisecond, and the numbers list renders five of them."""
    parts = [f'<select name="{conditional_escape(name)}"{_attrs_html(attrs)}>']
    has_selected = False
    for value, label in choices:
        value = "" if value is None else str(value)
        is_selected = not has_selected and value in selected
        has_selected |= is_selected
        parts.append(
            f'\n  <option value="{escape(value)}"{" selected" if is_selected else ""}>'
            f"{conditional_escape(localize(label))}</option>\n"
        )
    parts.append("\n</select>")
    return mark_safe("".join(parts))


class FastSelect(forms.Select):
    """A Select rendered by select_html() rather than through the form renderer's templates
    (the project overrides neither select.html nor select_option.html); with option groups,
    which the dashboard does not use, it renders as a Select."""

    def render(self, name, value, attrs=None, renderer=None):
        # Iterated, not list()ed: list() asks a model field's choices for their len(), a COUNT(*).
        choices = [choice for choice in self.choices]
        if _has_groups(choices):
            self.choices = choices  # iterated once already: a model field's choices are a query
            return super().render(name, value, attrs, renderer)
        context_attrs = self.build_attrs(self.attrs, attrs)
        return select_html(name, choices, self.format_value(value), context_attrs)


def _has_groups(choices) -> bool:
    return any(isinstance(label, (list, tuple)) for _, label in choices)
