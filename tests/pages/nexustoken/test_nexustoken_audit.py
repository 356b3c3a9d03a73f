"""The audit log of the NexusToken pages: tasks posted and cancelled, budgets, purchases."""

import pytest
from django.urls import reverse

from dashboard.audit import AuditEntry
from dashboard.nexustoken.models import Purchase
from tests.support.credits_cast import SUCCESS_CARD, pay
from tests.support.tasks_cast import Person, settle, task_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(sandbox):
    sandbox.set_knobs(deliver_webhooks=False)
    return Person(sandbox)


def rows() -> list[tuple[str, str]]:
    return [(row.action, row.result) for row in AuditEntry.objects.order_by("id")]


def _post_task(client, sandbox, owner):
    return reverse("nexustoken:task_new"), task_fields()


def _cancel_task(client, sandbox, owner):
    task = owner.post_task(client)
    return reverse("nexustoken:task_detail", args=[task.task_id]), {"cancel": "1"}


def _cancel_a_settled_task(client, sandbox, owner):
    task = owner.post_task(client)
    settle(sandbox, task.task_id)  # settled upstream: NexusToken refuses the cancel (409)
    return reverse("nexustoken:task_detail", args=[task.task_id]), {"cancel": "1"}


def _change_budget(client, sandbox, owner):
    return reverse("nexustoken:credits_usage"), {
        "monthly_limit": "2500",
        "thresholds": "50, 80",
        "save_budget": "1",
    }


def _start_checkout(client, sandbox, owner):
    return "/credits/", {"amount_credits": "1500", "checkout": "1"}


ACTIONS = [
    (_post_task, "task.post", "done"),
    (_cancel_task, "task.cancel", "done"),
    (_cancel_a_settled_task, "task.cancel", "refused"),
    (_change_budget, "budget.change", "done"),
    (_start_checkout, "credits.checkout", "done"),
]


@pytest.mark.parametrize(("scene", "action", "result"), ACTIONS, ids=[f"{a[1]}-{a[2]}" for a in ACTIONS])
def test_each_action_writes_exactly_one_row_with_its_result(client, sandbox, owner, scene, action, result):
    url, form = scene(client, sandbox, owner)
    owner.login(client)
    AuditEntry.objects.all().delete()  # the scene's own actions and sign-in
    response = client.post(url, form)
    assert response.status_code in (302, 409), response.content.decode()[:500]
    assert rows() == [(action, result)]
    row = AuditEntry.objects.get()
    assert row.user == owner.user and row.nexustoken_account_id == owner.account["account_id"]
    assert row.team_id is None


def test_a_posted_task_is_recorded_with_its_id_and_never_its_input(client, owner):
    task = owner.post_task(client)
    row = AuditEntry.objects.get(action="task.post")
    assert row.target == task.task_id
    assert row.detail == {"task_type": "json_extraction", "budget": "20"}
    assert "Apple" not in str(AuditEntry.objects.values().get(pk=row.pk))


def test_a_budget_change_is_recorded_in_the_same_transaction_with_before_and_after(client, owner):
    url = reverse("nexustoken:credits_usage")
    owner.login(client).post(url, {"monthly_limit": "100", "thresholds": "50", "save_budget": "1"})
    client.post(url, {"monthly_limit": "", "thresholds": "50", "save_budget": "1"})
    changes = [row.detail for row in AuditEntry.objects.filter(action="budget.change").order_by("id")]
    assert [(c["from"], c["to"]) for c in changes] == [(None, "100"), ("100", None)]


def test_a_purchase_is_recorded_once_when_confirmed_however_often_the_page_is_reloaded(
    client, sandbox, owner
):
    owner.login(client).post("/credits/", {"amount_credits": "1500", "checkout": "1"})
    purchase = Purchase.objects.get()
    assert not AuditEntry.objects.filter(action="credits.purchase").exists()  # not paid yet
    back = pay(f"{sandbox.nexustoken_url}/checkout/{purchase.session_id}", SUCCESS_CARD)
    location = back.headers["Location"].split("testserver", 1)[1]
    for _ in range(3):
        assert client.get(location).status_code == 200
    row = AuditEntry.objects.get(action="credits.purchase")
    assert (row.result, row.user, row.target) == ("done", owner.user, "1500 NC")
    assert row.detail == {"amount_credits": 1500, "purchase_id": purchase.pk}
