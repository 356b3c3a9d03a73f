"""/tasks/new/ for a first task: a starter per task type, templates that keep the input text (post
again in one step), and the monthly limit and its override described before posting."""

import json

import pytest
from django.urls import reverse

from dashboard.nexustoken import starters
from dashboard.nexustoken.forms.tasks import TaskForm, schema_tips
from dashboard.nexustoken.models import Budget, Status, Task, TaskTemplate, TaskType
from tests.support.tasks_cast import EXAMPLE, SCHEMA, Person, task_fields

pytestmark = pytest.mark.django_db

URL = "/tasks/new/"


@pytest.fixture
def owner(sandbox, client):
    sandbox.set_knobs(deliver_webhooks=False)
    person = Person(sandbox)
    person.login(client)
    return person


@pytest.mark.parametrize("kind", list(TaskType))
def test_every_documented_task_type_has_a_starter_the_form_accepts(kind):
    starter = starters.STARTERS[kind]
    data = {
        name: json.dumps(value) if not isinstance(value, str) else value
        for name, value in starter.values().items()
    }
    form = TaskForm(task_fields(task_type=kind.value, max_seconds="120", **data))
    assert form.is_valid(), form.errors
    assert schema_tips(starter.schema, starter.example_output) == []  # follows the seed's tips


def test_the_page_offers_the_starters_to_its_script(client, owner):
    page = client.get(URL).text
    assert 'id="task-starters"' in page and "nexustoken/task_form.js" in page
    assert 'name="use_starter"' in page
    assert starters.STARTERS[TaskType.JSON_EXTRACTION].summary in page
    assert starters.STARTERS[TaskType.CODE_EXECUTION].summary in page  # in the JSON, for the script


def test_without_javascript_the_starter_fills_only_empty_fields_then_asks(client, owner):
    starter = starters.STARTERS[TaskType.TEXT_CLASSIFICATION]
    empty = task_fields(
        task_type="text_classification", input_data="", schema="", example_output="", post=None
    )
    filled = client.post(URL, {**empty, "use_starter": "1"})
    assert filled.status_code == 200
    form = filled.context["form"]
    assert form["input_data"].value() == starter.input_data
    assert json.loads(form["schema"].value()) == starter.schema
    assert "The starter filled the empty fields" in filled.text

    mine = "My own ticket text, typed before choosing the starter."
    typed = task_fields(
        task_type="text_classification", input_data=mine, schema="", example_output="", post=None
    )
    kept = client.post(URL, {**typed, "use_starter": "1"})
    form = kept.context["form"]
    assert form["input_data"].value() == mine  # never overwritten without asking
    assert json.loads(form["schema"].value()) == starter.schema  # the empty one was filled
    assert "What you typed in Input text was kept." in kept.text
    assert 'name="replace_starter"' in kept.text

    replaced = client.post(URL, {**typed, "replace_starter": "1"})
    assert replaced.context["form"]["input_data"].value() == starter.input_data
    assert Task.objects.count() == 0  # using a starter posts nothing


def test_a_template_keeps_the_input_text_and_posts_again_in_one_step(client, owner):
    text = "Initech Ltd reported revenue of $4.2 million for Q2."
    saved = client.post(
        URL, task_fields(input_data=text, post=None, save_template="1", template_name="Revenue")
    )
    assert saved.status_code == 200
    template = TaskTemplate.objects.get(user=owner.user, name="Revenue")
    assert template.input_data == text
    assert text in client.get(f"{URL}?template={template.pk}").text  # prefilled, input included

    posted = client.post(URL, {"template_id": str(template.pk), "post_template": "1"})
    assert posted.status_code == 302
    task = Task.objects.get(user=owner.user)
    assert posted.url == reverse("nexustoken:task_detail", args=[task.task_id])
    assert task.input_data == text and task.status == Status.BIDDING
    assert owner.upstream(task.task_id)["input_data"] == text


def test_another_users_template_cannot_be_posted(client, sandbox, owner):
    other = Person(sandbox)
    theirs = TaskTemplate.objects.create(
        user=other.user, name="Theirs", input_data="secret", schema={}, example_output={}
    )
    assert client.post(URL, {"template_id": str(theirs.pk), "post_template": "1"}).status_code == 404
    assert client.get(f"{URL}?template={theirs.pk}").status_code == 404
    assert Task.objects.count() == 0


def test_the_form_describes_the_limit_and_the_override_before_posting(client, owner):
    no_limit = client.get(URL).text
    assert "No monthly spend limit is set" in no_limit
    assert 'name="override_budget"' not in no_limit

    Budget.objects.create(user=owner.user, monthly_limit=100)
    owner.post_task(client, budget="30")
    page = client.get(URL).text
    assert "Your monthly spend limit is <strong>100 NC</strong>" in page
    assert '<strong id="limit-left">70 NC</strong> are left this month' in page
    assert 'name="override_budget"' in page
    assert "Ticking it posts the task even over the limit" in page

    refused = client.post(URL, task_fields(budget="80"))
    assert refused.status_code == 400 and "over your monthly limit of 100 NC" in refused.text
    template = TaskTemplate.objects.create(
        user=owner.user, name="Big", input_data="text", schema=SCHEMA, example_output=EXAMPLE,
        default_budget=80,
        settings={"max_seconds": 120, "quality_preference": "balanced", "min_skill_rating": 0,
                  "pending_pool_hours": 24, "auto_retry": 3},
    )  # fmt: skip
    again = client.post(URL, {"template_id": str(template.pk), "post_template": "1"})
    assert again.status_code == 400 and "over your monthly limit" in again.text  # no implied override
    assert Task.objects.filter(user=owner.user).count() == 1
