"""The numbers list renders some of its markup in Python rather than through templates
(issue 14): each piece must render exactly what Django's own would."""

import datetime
import zoneinfo

import pytest
from django import forms
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from kalem_site.widgets import FastSelect, select_html

CHOICES = [
    ("", "— none —"),
    (1, "Sales"),
    (2, '<b>"Support" & co</b>'),
    (10, "Agent 10"),
    (15, 15),
    (1000, 1000),
]


@pytest.mark.parametrize("value", [None, "", 1, "2", 10, "10", 1000, "missing", ["1", "2"]])
@pytest.mark.parametrize(
    "attrs",
    [
        None,
        {"id": "bulk-action"},
        {"id": 'x"y', "data-autosubmit": True, "disabled": False, "data-n": 3},
    ],
)
def test_a_fast_select_renders_exactly_what_a_select_renders(value, attrs):
    expected = forms.Select(choices=CHOICES).render("voice_agent", value, attrs=attrs)

    assert FastSelect(choices=CHOICES).render("voice_agent", value, attrs=attrs) == expected


def test_a_fast_select_of_a_model_choice_field_renders_its_queryset(account, make_voice_agent):
    sales, support = make_voice_agent(account, "Sales"), make_voice_agent(account, "Support & <co>")

    class Plain(forms.Form):
        agent = forms.ModelChoiceField(queryset=type(sales).objects.order_by("name"), empty_label="— none —")

    class Fast(forms.Form):
        agent = forms.ModelChoiceField(
            queryset=type(sales).objects.order_by("name"), empty_label="— none —", widget=FastSelect
        )

    for initial in (None, support.pk):
        assert str(Fast(initial={"agent": initial})["agent"]) == str(Plain(initial={"agent": initial})["agent"])


def test_a_fast_select_with_option_groups_renders_as_a_select():
    grouped = [("Agents", [(1, "Sales"), (2, "Support")]), ("", "none")]

    assert FastSelect(choices=grouped).render("a", 2) == forms.Select(choices=grouped).render("a", 2)


def test_select_html_marks_only_the_first_selected_option():
    html = select_html("a", [("1", "one"), ("1", "again")], ["1"], {})

    assert html.count(" selected") == 1


def test_id_url_is_the_reversed_url_for_every_id():
    template = Template(
        "{% load dashboard %}{% for pk in ids %}{% id_url 'numbers:detail' pk %} {% id_url 'numbers:delete' pk %} {% endfor %}"
    )

    rendered = template.render(Context({"ids": [1, 42, 9223372036854775807]}))

    expected = "".join(
        f"{reverse('numbers:detail', args=[pk])} {reverse('numbers:delete', args=[pk])} "
        for pk in [1, 42, 9223372036854775807]
    )
    assert rendered == expected


@pytest.mark.parametrize(
    "moment",
    [
        datetime.datetime(2026, 12, 1, 9, 5, 7, tzinfo=datetime.UTC),
        datetime.datetime(2026, 12, 1, 23, 59, 59, 123456, tzinfo=datetime.UTC),
        datetime.datetime(999, 1, 2, 3, 4, tzinfo=datetime.UTC),
        None,
    ],
)
@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_the_date_filters_render_what_the_date_filter_renders(moment, zone):
    expected = Template("{{ m|date:'c' }}|{{ m|date:'Y-m-d H:i' }}")
    fast = Template("{% load dashboard %}{{ m|iso_datetime }}|{{ m|datetime_minute }}")

    with timezone.override(zoneinfo.ZoneInfo(zone)):
        assert fast.render(Context({"m": moment})) == expected.render(Context({"m": moment}))
