"""/tasks/, /tasks/new/ and /tasks/<id>/ against the live sandbox: owner, outsider and anonymous."""

import json

import httpx
import pytest
from django.test import Client
from django.urls import reverse

from dashboard.nexustoken.models import Budget, Source, Status, Task, TaskEvent, TaskTemplate
from tests.support.tasks_cast import EXAMPLE, SCHEMA, Person, settle, task_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(sandbox):
    sandbox.set_knobs(deliver_webhooks=False)
    return Person(sandbox)


@pytest.fixture
def outsider(sandbox):
    return Person(sandbox)


def text(response) -> str:
    return response.content.decode()


# --- access ---------------------------------------------------------------------------------------


def test_it_sends_anonymous_visitors_to_sign_in(client, owner):
    task = owner.post_task(Client())
    for url in (
        reverse("nexustoken:task_list"),
        reverse("nexustoken:task_new"),
        reverse("nexustoken:task_detail", args=[task.task_id]),
        reverse("nexustoken:task_result", args=[task.task_id]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


def test_it_hides_every_task_url_of_another_user(client, sandbox, owner, outsider):
    task = owner.post_task(Client())
    settle(sandbox, task.task_id)
    outsider.login(client)
    assert task.task_id not in text(client.get(reverse("nexustoken:task_list")))
    assert client.get(reverse("nexustoken:task_detail", args=[task.task_id])).status_code == 404
    assert client.get(reverse("nexustoken:task_result", args=[task.task_id])).status_code == 404
    assert (
        client.post(reverse("nexustoken:task_detail", args=[task.task_id]), {"cancel": "1"}).status_code
        == 404
    )
    assert client.get(reverse("nexustoken:task_new") + f"?from={task.task_id}").status_code == 404
    assert owner.upstream(task.task_id)["status"] == "SETTLED"  # untouched by the attempts


def test_it_asks_to_connect_nexustoken_first(client):
    from tests.support.helpers import dashboard_user

    client.force_login(dashboard_user())
    for url in (
        reverse("nexustoken:task_list"),
        reverse("nexustoken:task_new"),
        reverse("nexustoken:task_detail", args=["some-task"]),
    ):
        page = text(client.get(url))
        assert "Connect your NexusToken account" in page, url
        assert "task-form" not in page and "task-table" not in page


# --- the list ---------------------------------------------------------------------------------------


def test_it_lists_the_owners_tasks_newest_first_with_filters(client, sandbox, owner):
    first = owner.post_task(Client(), input_data="Acme first report")
    second = owner.post_task(Client(), input_data="Globex second report")
    owner.login(client).post(reverse("nexustoken:task_detail", args=[first.task_id]), {"cancel": "1"})

    page = text(client.get(reverse("nexustoken:task_list")))
    assert page.index(second.task_id) < page.index(first.task_id)

    cancelled = text(client.get(reverse("nexustoken:task_list"), {"status": "CANCELLED"}))
    assert first.task_id in cancelled and second.task_id not in cancelled
    found = text(client.get(reverse("nexustoken:task_list"), {"q": "globex"}))
    assert second.task_id in found and first.task_id not in found
    assert "No task matches these filters." in text(
        client.get(reverse("nexustoken:task_list"), {"q": "nothing-like-it"})
    )


def test_it_paginates_the_list(client, owner):
    for number in range(23):
        Task.objects.create(user=owner.user, task_id=f"local-{number:02}", budget=5, input_data=f"n{number}")
    page_one = text(owner.login(client).get(reverse("nexustoken:task_list")))
    page_two = text(client.get(reverse("nexustoken:task_list"), {"page": 2}))
    assert "Page 1 of 2" in page_one and "local-22" in page_one and "local-02" not in page_one
    assert "local-02" in page_two and "local-22" not in page_two


def test_it_adds_a_task_posted_with_the_sdk_by_its_id(client, owner, outsider):
    posted = owner.api.post(
        "/tasks",
        json={
            "input_data": "From the SDK",
            "validation_schema": SCHEMA,
            "example_output": EXAMPLE,
            "max_budget_credits": 9,
        },
    ).json()
    response = owner.login(client).post(
        reverse("nexustoken:task_list"), {"task_id": posted["id"], "add": "1"}
    )
    assert response.status_code == 302
    task = Task.objects.get(user=owner.user, task_id=posted["id"])
    assert (task.origin, task.budget, task.input_data) == ("added", 9, "From the SDK")

    # Someone else's task, and an id NexusToken does not know: a sentence next to the field.
    refused = outsider.login(Client()).post(
        reverse("nexustoken:task_list"), {"task_id": posted["id"], "add": "1"}
    )
    assert refused.status_code == 404
    assert "posted by another NexusToken account" in text(refused)
    unknown = outsider.login(Client()).post(
        reverse("nexustoken:task_list"), {"task_id": "0b5f4c9e-1111-4111-8111-111111111111", "add": "1"}
    )
    assert "NexusToken has no task with that id." in text(unknown)
    assert not Task.objects.filter(user=outsider.user).exists()


# --- posting ----------------------------------------------------------------------------------------


def test_it_shows_purchasing_power_and_the_worst_case_cost(client, owner):
    page = text(owner.login(client).get(reverse("nexustoken:task_new")))
    balance = owner.api.get("/credits/balance").json()
    assert f'<strong id="purchasing-power">{balance["purchasing_power"]} NC</strong>' in page
    assert "Worst case: <strong>21 NC</strong>" in page  # 20 NC budget + 1 NC minimum fee


def test_it_posts_a_task_with_the_webhook_receiver_as_callback(client, owner, settings):
    settings.PUBLIC_URL = "https://dash.example.com"
    task = owner.post_task(
        client,
        pending_pool_hours="12",
        auto_retry="1",
        rules='[{"type": "required_fields", "fields": ["company"]}]',
    )
    upstream = owner.upstream(task.task_id)
    assert upstream["callback_url"].startswith("https://dash.example.com/tasks/webhooks/")
    assert (upstream["pending_pool_hours"], upstream["auto_retry"]) == (12, 1)
    assert upstream["validation_rules"] == [{"type": "required_fields", "fields": ["company"]}]
    assert upstream["max_budget_credits"] == task.budget == 20
    assert task.status == Status.BIDDING
    assert TaskEvent.objects.get(task=task).source == Source.CREATED
    assert owner.api.get("/credits/balance").json()["credits_frozen"] == 20


@pytest.mark.parametrize(
    ("overrides", "sentence"),
    [
        ({"schema": "{not json"}, "This is not valid JSON"),
        ({"schema": "[1]"}, "This must be a JSON object."),
        ({"schema": '{"type": "nonsense"}'}, "This is not a valid JSON Schema"),
        (
            {"example_output": '{"company": 5, "revenue": "1"}'},
            "The example does not match the schema at company",
        ),
        ({"rules": '[{"kind": "x"}]'}, "Rule 1 needs a"),
        ({"budget": "4"}, "Ensure this value is greater than or equal to 5."),
        ({"input_data": "   "}, "Give the worker some text to work on."),
        ({"max_seconds": "600"}, "At most 300 seconds"),
        # What Python's json reads but no upstream can take, or cannot read at all: no 500s.
        ({"example_output": '{"company": NaN}'}, "NaN is not a JSON value"),
        ({"schema": "[" * 30_000 + "]" * 30_000}, "nested too deeply"),
        ({"example_output": '{"revenue": ' + "9" * 5_000 + "}"}, "A number in it is too long"),
    ],
)
def test_it_refuses_bad_input_before_calling_upstream(client, sandbox, owner, overrides, sentence):
    sandbox.reset_request_counts()
    response = owner.login(client).post(reverse("nexustoken:task_new"), task_fields(**overrides))
    assert response.status_code == 400
    assert sentence in text(response)
    assert not any(key.startswith("POST") for key in sandbox.request_counts())
    assert not Task.objects.exists()


def test_it_refuses_a_budget_over_the_purchasing_power(client, sandbox, owner):
    power = owner.api.get("/credits/balance").json()["purchasing_power"]
    response = owner.login(client).post(
        reverse("nexustoken:task_new"), task_fields(budget=str(min(1000, power + 1)))
    )
    assert response.status_code == 400
    assert f"Your account can pay at most {power} NC now" in text(response)
    assert not Task.objects.exists()


def test_it_enforces_the_monthly_spend_limit_with_an_explicit_override(client, owner):
    Budget.objects.update_or_create(user=owner.user, defaults={"monthly_limit": 30})
    owner.post_task(client, budget="20")
    refused = client.post(reverse("nexustoken:task_new"), task_fields(budget="11"))
    assert refused.status_code == 400
    assert "over your monthly limit of 30 NC" in text(refused)
    assert Task.objects.count() == 1
    # Exactly at the limit is allowed; over it only with the owner's override.
    owner.post_task(client, budget="10")
    owner.post_task(client, budget="5", override_budget="on")
    assert Task.objects.count() == 3


def test_it_shows_the_wait_when_task_creation_is_rate_limited(client, sandbox, owner):
    sandbox.set_knobs(force_429=2, retry_after=7, scope="nexustoken")
    response = owner.login(client).post(reverse("nexustoken:task_new"), task_fields())
    assert response.status_code == 400
    assert "Try again in 7 seconds." in text(response)
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("change", "sentence"),
    [
        ({"reputation": -11}, "Your NexusToken account is frozen"),
        ({"debt": 100, "debt_days": 8}, "NexusToken suspended your account: a debt has been unpaid"),
    ],
)
def test_it_explains_a_frozen_or_suspended_account(client, sandbox, owner, change, sentence):
    httpx.post(
        f"{sandbox.url}/_sandbox/nexustoken/accounts/{owner.account['account_id']}",
        json=change,
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
    ).raise_for_status()
    response = owner.login(client).post(reverse("nexustoken:task_new"), task_fields(budget="5"))
    assert response.status_code == 400
    assert sentence in text(response)
    assert not Task.objects.exists()


def test_it_keeps_the_form_usable_when_the_balance_cannot_load(client, sandbox, owner):
    sandbox.set_knobs(error_rate=1.0, scope="nexustoken")
    response = owner.login(client).get(reverse("nexustoken:task_new"))
    assert response.status_code == 200
    assert "Your balance could not be loaded: NexusToken is having problems (HTTP 500)." in text(response)


def test_it_says_when_a_check_now_cannot_reach_upstream(client, sandbox, owner):
    task = owner.post_task(client)
    sandbox.set_knobs(error_rate=1.0, scope="nexustoken")
    response = client.post(reverse("nexustoken:task_detail", args=[task.task_id]), {"refresh": "1"})
    assert response.status_code == 502
    assert "NexusToken is having problems (HTTP 500). Try again shortly." in text(response)
    task.refresh_from_db()
    assert task.status == Status.BIDDING


def test_it_says_when_nexustoken_is_down_and_records_nothing(client, sandbox, owner):
    sandbox.set_knobs(error_rate=1.0, scope="nexustoken")
    response = owner.login(client).post(reverse("nexustoken:task_new"), task_fields())
    assert response.status_code == 400
    page = text(response)
    assert "NexusToken is having problems (HTTP 500)." in page and "The task was not posted." in page
    assert not Task.objects.exists()


def test_it_checks_a_schema_and_shows_the_seed_tips(client, sandbox, owner):
    sandbox.reset_request_counts()
    loose = json.dumps(
        {"type": "object", "properties": {"company": {"type": "string"}, "ceo": {"type": "string"}}}
    )
    response = owner.login(client).post(
        reverse("nexustoken:task_new"),
        task_fields(schema=loose, example_output='{"company": "Acme"}', post=None, check="1"),
    )
    page = text(response)
    assert response.status_code == 200
    assert "Nothing was sent yet." in page
    assert "Add a description to company, ceo" in page
    assert "additionalProperties" in page
    assert "Complete the example with ceo" in page
    assert not Task.objects.exists()
    assert not any(key.startswith("POST") for key in sandbox.request_counts())


# --- templates ------------------------------------------------------------------------------------


def test_it_saves_a_template_and_posts_from_it(client, owner, outsider):
    owner.login(client).post(
        reverse("nexustoken:task_new"),
        task_fields(post=None, save_template="1", template_name="Revenue", budget="15"),
    )
    template = TaskTemplate.objects.get(user=owner.user, name="Revenue")
    assert (template.schema, template.example_output, template.default_budget) == (SCHEMA, EXAMPLE, 15)
    assert template.settings["max_seconds"] == 120

    prefilled = text(client.get(reverse("nexustoken:task_new"), {"template": template.pk}))
    assert "Full legal company name" in prefilled and 'value="15"' in prefilled
    assert (
        outsider.login(Client()).get(reverse("nexustoken:task_new"), {"template": template.pk}).status_code
        == 404
    )

    deleted = outsider.login(Client()).post(
        reverse("nexustoken:task_new"), {"template_id": template.pk, "delete_template": "1"}
    )
    assert deleted.status_code == 404
    client.post(reverse("nexustoken:task_new"), {"template_id": template.pk, "delete_template": "1"})
    assert not TaskTemplate.objects.exists()


def test_it_refuses_a_template_without_a_name(client, owner):
    response = owner.login(client).post(
        reverse("nexustoken:task_new"), task_fields(post=None, save_template="1")
    )
    assert response.status_code == 400
    assert "This field is required." in text(response)
    assert not TaskTemplate.objects.exists()


# --- the task page --------------------------------------------------------------------------------


def test_it_shows_a_settled_task_with_its_result_price_and_fee(client, sandbox, owner):
    task = owner.post_task(client)
    settle(sandbox, task.task_id)
    client.post(reverse("nexustoken:task_detail", args=[task.task_id]), {"refresh": "1"})
    page = text(client.get(reverse("nexustoken:task_detail", args=[task.task_id])))
    assert "Settled" in page and '<strong id="awarded-price">10 NC</strong>' in page
    assert '<strong id="platform-fee">1 NC</strong>' in page
    assert "&quot;company&quot;: &quot;Apple Inc&quot;" in page
    download = client.get(reverse("nexustoken:task_result", args=[task.task_id]))
    assert download["Content-Disposition"] == f'attachment; filename="task-{task.task_id}.json"'
    assert json.loads(download.content) == EXAMPLE
    assert TaskEvent.objects.filter(task=task, source=Source.PAGE, to_status=Status.SETTLED).exists()


def test_it_explains_rejected_attempts(client, sandbox, owner):
    task = owner.post_task(client, rules='[{"type": "enum", "field": "company", "values": ["Apple Inc"]}]')
    settle(sandbox, task.task_id, result={"company": "Pear", "revenue": "1"})  # breaks the rule
    client.post(reverse("nexustoken:task_detail", args=[task.task_id]), {"refresh": "1"})
    page = text(client.get(reverse("nexustoken:task_detail", args=[task.task_id])))
    assert "RULE_VIOLATION" in page and "broke one of your validation rules" in page


def test_it_reads_an_open_task_page_from_the_local_record(client, sandbox, owner):
    task = owner.post_task(client)
    url = reverse("nexustoken:task_detail", args=[task.task_id])
    sandbox.reset_request_counts()
    page = client.get(url)
    version = page.content.decode().split('data-version="')[1].split('"')[0]
    unchanged = client.get(url, {"live": version}, headers={"HX-Request": "true"})
    assert (page.status_code, unchanged.status_code) == (200, 204)
    assert sandbox.request_counts() == {}

    Task.objects.filter(pk=task.pk).update(status=Status.AWARDED, awarded_price=12)
    changed = client.get(url, {"live": version}, headers={"HX-Request": "true"})
    assert changed.status_code == 200 and "12 NC" in text(changed) and "<html" not in text(changed)
    Task.objects.filter(pk=task.pk).update(status=Status.SETTLED, platform_fee=1)
    finished = client.get(url, {"live": version}, headers={"HX-Request": "true"})
    assert finished.status_code == 286  # stops htmx polling
    assert "hx-trigger" not in text(finished)
    assert sandbox.request_counts() == {}


def test_it_cancels_after_a_confirmation_that_works_without_js(client, sandbox, owner):
    task = owner.post_task(client)
    url = reverse("nexustoken:task_detail", args=[task.task_id])
    assert '<dialog id="cancel-dialog" open>' in text(client.get(url, {"confirm": "cancel"}))
    response = client.post(url, {"cancel": "1"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == Status.CANCELLED
    assert owner.upstream(task.task_id)["status"] == "CANCELLED"
    assert owner.api.get("/credits/balance").json()["credits_frozen"] == 0
    again = client.post(url, {"cancel": "1"})
    assert again.status_code == 403
    assert "only bidding or waiting tasks can be cancelled" in text(again)


def test_it_says_when_upstream_refuses_a_cancel(client, sandbox, owner):
    task = owner.post_task(client)
    settle(sandbox, task.task_id)  # settled upstream; the local record does not know yet
    response = client.post(reverse("nexustoken:task_detail", args=[task.task_id]), {"cancel": "1"})
    assert response.status_code == 409
    assert "only BIDDING or PENDING_POOL tasks can be cancelled" in text(response)
    task.refresh_from_db()
    assert task.status == Status.BIDDING


def test_it_answers_404_for_an_unknown_task(client, owner):
    owner.login(client)
    assert client.get(reverse("nexustoken:task_detail", args=["no-such-task"])).status_code == 404
    assert client.get(reverse("nexustoken:task_result", args=["no-such-task"])).status_code == 404


def test_it_asks_before_deleting_a_template_without_javascript(client, owner, outsider):
    template = TaskTemplate.objects.create(
        user=owner.user, name="Revenue", schema=SCHEMA, example_output=EXAMPLE
    )
    page = text(owner.login(client).get(reverse("nexustoken:task_new")))
    # A link, not a form that deletes at once; its fragment scrolls the no-JS page to the dialog.
    assert f'href="?delete_template={template.pk}#delete-template-{template.pk}"' in page
    assert f'aria-labelledby="delete-template-title-{template.pk}" >' in page  # its dialog is closed

    confirm = client.get(reverse("nexustoken:task_new"), {"delete_template": template.pk})
    assert confirm.status_code == 200
    assert f'aria-labelledby="delete-template-title-{template.pk}" open>' in text(confirm)
    assert "Delete the template “Revenue”?" in text(confirm)
    assert TaskTemplate.objects.filter(pk=template.pk).exists()  # asking deletes nothing

    peek = outsider.login(Client()).get(reverse("nexustoken:task_new"), {"delete_template": template.pk})
    assert peek.status_code == 404
    assert client.get(reverse("nexustoken:task_new"), {"delete_template": "x"}).status_code == 404


def test_it_names_the_fields_to_fix_beside_the_buttons_in_an_alert(client, owner):
    response = owner.login(client).post(
        reverse("nexustoken:task_new"), task_fields(example_output="[1]", budget="2")
    )
    assert response.status_code == 400
    page = text(response)
    summary = page[page.index('id="form-problems"') :]
    summary = summary[: summary.index("</div>")]
    assert 'href="#id_example_output">Example output</a>, <a href="#id_budget">Budget (NC)</a>' in summary
    assert page.index('id="form-problems"') < page.index(">Post task</button>")  # right above Post task
    assert 'role="alert" id="form-problems"' in page
    assert not Task.objects.filter(user=owner.user).exists()

    one = text(client.post(reverse("nexustoken:task_new"), task_fields(budget="2", post=None, check="1")))
    assert 'Fix this field: <a href="#id_budget">Budget (NC)</a>.' in one
    assert 'id="form-problems"' not in text(client.get(reverse("nexustoken:task_new")))


def test_it_offers_the_spend_limit_override_only_to_someone_with_a_limit(client, owner):
    page = text(owner.login(client).get(reverse("nexustoken:task_new")))
    assert 'name="override_budget"' not in page
    Budget.objects.update_or_create(user=owner.user, defaults={"monthly_limit": None})
    assert 'name="override_budget"' not in text(client.get(reverse("nexustoken:task_new")))

    Budget.objects.filter(user=owner.user).update(monthly_limit=30)
    page = text(client.get(reverse("nexustoken:task_new")))
    assert 'name="override_budget"' in page
    assert "Your monthly spend limit is <strong>30 NC</strong>" in page


def test_it_captions_the_task_table_for_screen_readers(client, owner):
    for number in range(23):
        Task.objects.create(user=owner.user, task_id=f"local-{number:02}", budget=5)
    page = text(owner.login(client).get(reverse("nexustoken:task_list"), {"page": 2}))
    assert '<caption class="sr-only">Your tasks, newest first (page 2 of 2)</caption>' in page
    assert page.count('<th scope="col"') == 7


def test_a_task_posted_with_htmx_puts_its_page_in_the_address_bar(client, owner):
    new = reverse("nexustoken:task_new")
    htmx = {"HX-Request": "true", "HX-Current-URL": f"http://testserver{new}"}
    response = owner.login(client).post(new, task_fields(), headers=htmx)
    # The browser loads the task's page: a reload shows the task, not the empty form at /tasks/new/.
    task = Task.objects.get(user=owner.user)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("nexustoken:task_detail", args=[task.task_id])

    # An action that stays on its page keeps htmx's swap in place (the address bar is right already).
    here = reverse("nexustoken:task_detail", args=[task.task_id])
    htmx["HX-Current-URL"] = f"http://testserver{here}"
    stay = client.post(here, {"refresh": "1"}, headers=htmx)
    assert (stay.status_code, stay.url) == (302, here) and "HX-Redirect" not in stay
