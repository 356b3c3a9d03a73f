"""`{% url %}` keeps each URL it worked out (dashboard/core/templatetags/fixed_urls.py): the same
URLs as Django's tag, for every argument, and a name that does not exist still fails."""

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse


def url(source: str, **context: object) -> str:
    return Template(source).render(Context(context))


def test_urls_with_and_without_arguments_are_djangos():
    for team_id in (1, 2, "3", 1):
        assert url("{% url 'orchestrator:team_detail' team_id %}", team_id=team_id) == reverse(
            "orchestrator:team_detail", args=[team_id]
        )
        assert url("{% url 'orchestrator:project_detail' team_id 7 %}", team_id=team_id) == reverse(
            "orchestrator:project_detail", args=[team_id, 7]
        )
    assert url("{% url 'orchestrator:team_list' %}") == reverse("orchestrator:team_list")
    assert url("{% url 'orchestrator:team_detail' team_id=4 %}") == reverse(
        "orchestrator:team_detail", kwargs={"team_id": 4}
    )
    assert url("{% url 'orchestrator:team_detail' 5 as link %}[{{ link }}]") == (
        f"[{reverse('orchestrator:team_detail', args=[5])}]"
    )


def test_an_unknown_name_or_a_wrong_argument_still_fails():
    with pytest.raises(NoReverseMatch):
        url("{% url 'orchestrator:no_such_page' 1 %}")
    with pytest.raises(NoReverseMatch):
        url("{% url 'orchestrator:team_detail' 'not-a-number' %}")
