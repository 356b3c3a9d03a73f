"""The NexusToken webhook receiver, against the live sandbox: signed deliveries are confirmed
upstream before anything is recorded; everything else is refused and changes nothing."""

import logging

import pytest
from django.test import Client
from django.urls import reverse

from dashboard.nexustoken.models import Source, Status, Task, TaskEvent, WebhookDelivery, WebhookEndpoint
from dashboard.notifications.models import Notification
from tests.support.helpers import watch_secret
from tests.support.tasks_cast import Person, delivery, settle, signed

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(sandbox):
    # Deliveries are made by hand here: the sandbox's own would go to a dashboard that is not running.
    sandbox.set_knobs(deliver_webhooks=False)
    return Person(sandbox)


def receiver(person: Person) -> str:
    return reverse(
        "nexustoken:task_webhook", args=[WebhookEndpoint.objects.get(connection=person.connection).token]
    )


def send(url: str, body: bytes, signature: str | None, **headers) -> object:
    # A server calls this URL: no session, no CSRF token, and the checks stay on.
    client = Client(enforce_csrf_checks=True)
    if signature is not None:
        headers["X-Nexus-Signature"] = signature
    return client.post(url, body, content_type="application/json", headers=headers)


def test_it_records_a_signed_delivery_after_confirming_it_upstream(client, sandbox, owner):
    task = owner.post_task(client)
    settle(sandbox, task.task_id)
    body = delivery(task.task_id, "SETTLED")

    response = send(receiver(owner), body, signed(body, owner.account["webhook_secret"]))

    assert response.status_code == 200
    task.refresh_from_db()
    assert task.status == Status.SETTLED
    assert task.result_data == owner.upstream(task.task_id)["result_data"]
    assert task.awarded_price == 10
    assert task.platform_fee == 1
    assert task.settled_at is not None and task.next_poll_at is None
    event = TaskEvent.objects.get(task=task, to_status=Status.SETTLED)
    assert (event.from_status, event.source) == (Status.BIDDING, Source.WEBHOOK)
    notice = Notification.objects.get(user=owner.user)
    assert (notice.kind, notice.url) == ("task_settled", f"/tasks/{task.task_id}/")
    assert notice.body == "It cost 11 NC."


# Each way a signature header can be wrong, given the body and the right secret.
BAD_SIGNATURES = {
    "unsigned": lambda body, secret: None,
    "empty": lambda body, secret: "",
    "forged": lambda body, secret: signed(body, "whsec_" + "f" * 40),
    "garbage": lambda body, secret: "sha256=zz",
    # The right digest, but not in the documented `sha256=<lowercase hex>` form.
    "without the prefix": lambda body, secret: signed(body, secret).removeprefix("sha256="),
    "prefix in capitals": lambda body, secret: "SHA256=" + signed(body, secret).removeprefix("sha256="),
    "hex in capitals": lambda body, secret: "sha256=" + signed(body, secret).removeprefix("sha256=").upper(),
    "padded": lambda body, secret: f" {signed(body, secret)} ",
    "two signatures": lambda body, secret: f"{signed(body, secret)},{signed(body, 'other')}",
}


@pytest.mark.parametrize("how", BAD_SIGNATURES)
def test_it_refuses_deliveries_without_a_valid_signature(client, sandbox, owner, how):
    task = owner.post_task(client)
    settle(sandbox, task.task_id)
    body = delivery(task.task_id)
    signature = BAD_SIGNATURES[how](body, owner.account["webhook_secret"])

    response = send(receiver(owner), body, signature)

    assert response.status_code == 401
    task.refresh_from_db()
    assert task.status == Status.BIDDING
    assert not WebhookDelivery.objects.exists()
    assert TaskEvent.objects.filter(task=task).count() == 1


def test_it_keeps_the_receivers_token_out_of_the_request_log(client, sandbox, owner, caplog):
    task = owner.post_task(client)
    url = receiver(owner)
    token = WebhookEndpoint.objects.get(connection=owner.connection).token
    watch_secret(token)  # the whole run fails if it shows up in any log record

    with caplog.at_level(logging.INFO, logger="django.request"):
        assert send(url, delivery(task.task_id), "sha256=" + "0" * 64).status_code == 401

    assert "Unauthorized: /tasks/webhooks/[hidden]/" in caplog.messages
    assert not any(token in message for message in caplog.messages)


def test_it_refuses_a_tampered_body(client, sandbox, owner):
    task = owner.post_task(client)
    settle(sandbox, task.task_id)
    original = delivery(task.task_id, "CANCELLED")
    signature = signed(original, owner.account["webhook_secret"])
    tampered = original.replace(b"CANCELLED", b"SETTLED__")

    assert send(receiver(owner), tampered, signature).status_code == 401
    task.refresh_from_db()
    assert task.status == Status.BIDDING


def test_it_handles_a_replayed_delivery_once(client, sandbox, owner):
    task = owner.post_task(client)
    settle(sandbox, task.task_id)
    body = delivery(task.task_id)
    signature = signed(body, owner.account["webhook_secret"])

    first = send(receiver(owner), body, signature, X_Nexus_Delivery="a1")
    sandbox.reset_request_counts()
    again = send(receiver(owner), body, signature, X_Nexus_Delivery="a2")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["detail"] == "Already processed."
    assert sandbox.request_counts() == {}  # the replay did not even ask upstream
    assert TaskEvent.objects.filter(task=task, source=Source.WEBHOOK).count() == 1
    assert WebhookDelivery.objects.get().outcome == "recorded"
    assert Notification.objects.filter(user=owner.user).count() == 1


def test_it_never_takes_a_delivery_word_over_upstream(client, sandbox, owner):
    # Out of order or simply wrong: the body says SETTLED, but upstream says the task is still bidding.
    task = owner.post_task(client)
    body = delivery(task.task_id, "SETTLED", result_data={"company": "Evil Corp"})

    response = send(receiver(owner), body, signed(body, owner.account["webhook_secret"]))

    assert response.status_code == 200
    assert response.json()["detail"] == "Confirmed; nothing new."
    task.refresh_from_db()
    assert task.status == Status.BIDDING
    assert task.result_data is None


def test_it_never_moves_a_finished_task_backwards(client, sandbox, owner):
    task = owner.post_task(client)
    settle(sandbox, task.task_id)
    settled = delivery(task.task_id, "SETTLED")
    send(receiver(owner), settled, signed(settled, owner.account["webhook_secret"]))
    # A late delivery of an older state (a different body, so not a replay) changes nothing.
    older = delivery(task.task_id, "CANCELLED", timestamp="2026-04-01T07:00:30Z")

    response = send(receiver(owner), older, signed(older, owner.account["webhook_secret"]))

    assert response.status_code == 200
    task.refresh_from_db()
    assert task.status == Status.SETTLED
    assert list(TaskEvent.objects.filter(task=task).values_list("to_status", flat=True)) == [
        Status.BIDDING,
        Status.SETTLED,
    ]


def test_it_refuses_a_delivery_for_a_task_it_does_not_track(client, sandbox, owner):
    owner.post_task(client)  # creates the endpoint
    unknown = "9b2f4a8e-0000-4000-8000-000000000000"
    body = delivery(unknown)

    response = send(receiver(owner), body, signed(body, owner.account["webhook_secret"]))

    assert response.status_code == 404
    assert not Task.objects.filter(task_id=unknown).exists()
    assert not WebhookDelivery.objects.exists()


def test_it_refuses_another_users_task_on_this_endpoint(client, sandbox, owner):
    other = Person(sandbox)
    theirs = other.post_task(client)
    settle(sandbox, theirs.task_id)
    owner.post_task(Client())
    body = delivery(theirs.task_id)

    response = send(receiver(owner), body, signed(body, owner.account["webhook_secret"]))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Status.BIDDING


def test_it_answers_404_for_an_unknown_endpoint(owner):
    body = delivery("x")
    url = reverse("nexustoken:task_webhook", args=["not-a-real-token"])
    assert send(url, body, signed(body, owner.account["webhook_secret"])).status_code == 404


def test_it_refuses_a_signed_body_that_is_not_a_delivery(client, sandbox, owner):
    owner.post_task(client)
    for body in (b"not json", b"[1, 2]", b'{"task_id": 5}'):
        response = send(receiver(owner), body, signed(body, owner.account["webhook_secret"]))
        assert response.status_code == 400


def test_it_only_accepts_post(client, sandbox, owner):
    owner.post_task(client)
    assert Client().get(receiver(owner)).status_code == 405


def test_it_asks_for_a_retry_when_upstream_cannot_confirm(client, sandbox, owner):
    task = owner.post_task(client)
    settle(sandbox, task.task_id)
    body = delivery(task.task_id)
    signature = signed(body, owner.account["webhook_secret"])
    sandbox.set_knobs(error_rate=1.0, scope="nexustoken")

    failed = send(receiver(owner), body, signature)

    assert failed.status_code == 503
    task.refresh_from_db()
    assert task.status == Status.BIDDING
    assert WebhookDelivery.objects.get().outcome == "failed"
    # The sender's retry (same body) is processed once upstream is back.
    sandbox.set_knobs(error_rate=0.0)
    assert send(receiver(owner), body, signature).status_code == 200
    task.refresh_from_db()
    assert task.status == Status.SETTLED
