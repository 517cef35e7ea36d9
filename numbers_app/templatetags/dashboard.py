"""Template tags of the dashboard pages."""

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.forms import BoundField
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime

from kalem_site.widgets import select_html

from ..models import PhoneNumber

register = template.Library()


@register.simple_tag
def choice_select(bound_field: BoundField, empty: str = "", autosubmit: bool = False, **attrs) -> str:
    """A form's choice field as its <select>, the choices and the selected one coming from the
    form: `empty` names the field's empty choice ("All", "Any") instead of "---------";
    `autosubmit` marks the select for app.js to send its form on change (without JavaScript,
    the form's own button does); other keywords are HTML attributes (`id="direction"`)."""
    field = bound_field.field
    choices = [(value, empty if value == "" and empty else label) for value, label in field.choices]
    if autosubmit:
        attrs["data-autosubmit"] = True
    attrs = field.widget.build_attrs(field.widget.attrs, {"id": bound_field.auto_id, **attrs})
    return select_html(bound_field.html_name, choices, field.widget.format_value(bound_field.value()), attrs)


@register.simple_tag
def facet_choices(facet: dict, sample: str | None = None) -> str:
    """The sidebar's choices of one facet (views.listing.facet) as their <li> links with
    counts; with `sample`, each count is a lower bound ("≥"). What the template's loop wrote,
    in Python: the numbers list renders about 35 of them, which through the template engine
    cost about 2 ms a page."""
    items = []
    for choice in facet["choices"]:
        count = intcomma(choice["count"])
        selected, current = ("selected", 'aria-current="true"') if choice["selected"] else ("", "")
        title, bound = (f' title="at least {count}"', "≥") if sample else ("", "")
        items.append(
            f'\n        <li><a href="?{conditional_escape(choice["query"])}" class="{selected}" {current}>'
            f'{conditional_escape(choice["label"])} <span class="count"{title}>{bound}{count}</span></a></li>\n        '
        )
    return mark_safe("".join(items))


# An id no URL of ours has in it otherwise, to cut a reversed URL around.
_ID_PLACEHOLDER = 987654321987654321


@register.simple_tag(takes_context=True)
def id_url(context, name: str, pk: int) -> str:
    """`{% url name pk %}` for a URL whose only argument is an integer id, reversed once per
    URL name and page rather than once per call: a list of 15 rows links each row three or
    four times, and each `{% url %}` costs a full reverse()."""
    parts = context.render_context.setdefault("id_url_parts", {})
    try:
        head, tail = parts[name]
    except KeyError:
        head, _, tail = reverse(name, args=[_ID_PLACEHOLDER]).rpartition(str(_ID_PLACEHOLDER))
        parts[name] = head, tail
    return f"{head}{int(pk)}{tail}"


@register.filter(expects_localtime=True)
def iso_datetime(value) -> str:
    """`|date:"c"` (ISO 8601, in the current time zone) without parsing a format string."""
    return value.isoformat() if value else ""


@register.filter(expects_localtime=True)
def datetime_minute(value) -> str:
    """`|date:"Y-m-d H:i"` without parsing a format string."""
    if not value:
        return ""
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d}"


def _name_or_dash(name) -> str:
    # `{{ number.voice_agent.name|default:"—" }}`
    return conditional_escape(name) if name else "—"


@register.simple_tag(takes_context=True)
def number_rows(context, numbers, next_here: str) -> str:
    """The numbers list's rows (<tr>, one per number: its checkbox, links, names, update time
    and actions), byte for byte what the template's loop wrote, in Python: the loop's 16
    variables and tags a row, 15 rows a page, were most of the page's remaining template time.
    `numbers` are `.values(*NUMBER_COLUMNS)` rows; `next_here` is the page's own address,
    URL-encoded (the delete link returns to it)."""
    rows = []
    for number in numbers:
        number_id = number["id"]
        e164 = conditional_escape(number["number"])
        detail = id_url(context, "numbers:detail", number_id)
        updated = template_localtime(number["updated_at"])
        if number["status"] == "active":
            toggle = f'{id_url(context, "numbers:deactivate", number_id)}" tabindex="-1">Deactivate'
        else:
            toggle = f'{id_url(context, "numbers:activate", number_id)}" tabindex="-1">Activate'
        rows.append(
            "\n          \n"
            f'          <tr data-number="{e164}">\n'
            f'            <td class="check"><input type="checkbox" name="ids" value="{number_id}" '
            f'aria-label="Select {e164}" tabindex="-1"></td>\n'
            f'            <td class="mono"><a href="{detail}" data-row-link>{e164}</a></td>\n'
            f'            <td><span class="badge badge-{conditional_escape(number["status"])}">'
            f"{conditional_escape(PhoneNumber.Status(number['status']).label)}</span></td>\n"
            f"            <td>{conditional_escape(PhoneNumber.Provider(number['provider']).label)}</td>\n"
            f"            <td>{_name_or_dash(number['voice_agent__name'])}</td>\n"
            f"            <td>{_name_or_dash(number['text_agent__name'])}</td>\n"
            f"            <td>{_name_or_dash(number['trunk__name'])}</td>\n"
            f'            <td><time datetime="{iso_datetime(updated)}">{datetime_minute(updated)}</time></td>\n'
            '            <td class="actions">\n'
            "              \n"
            f'              <button type="submit" class="small" formaction="{toggle}</button>\n'
            "              \n"
            f'              <a class="small" href="{detail}" tabindex="-1">Edit</a>\n'
            f'              <a class="small danger" href="{id_url(context, "numbers:delete", number_id)}'
            f'?next={conditional_escape(next_here)}" tabindex="-1">Delete</a>\n'
            "            </td>\n"
            "          </tr>\n"
            "          "
        )
    return mark_safe("".join(rows))
