"""Team channels: the poller's job events become deliveries, and the sender posts them to a receiver
on 127.0.0.1, signed, retried, never twice, and never in the way of the poller's pass."""

import asyncio
import hashlib
import hmac
import io
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from django.core.management.base import OutputWrapper

from dashboard.accounts import crypto
from dashboard.channels import sender
from dashboard.channels.enqueue import enqueue_job_event
from dashboard.channels.messages import new_secret
from dashboard.channels.models import Channel, Delivery, DeliveryStatus, Kind, TeamAdminSeen
from dashboard.home.management.commands import runpoller
from dashboard.notifications.models import Notification
from dashboard.tracking.poller import Poller
from tests.support.receiver import Receiver
from tests.support.tracking_helpers import Worker, make_due, new_branch, one_pass

ALL_EVENTS = ["started", "failed", "completed"]


@pytest.fixture
def receiver():
    receiving = Receiver().start()
    yield receiving
    receiving.stop()


def webhook(team_id: int, url: str, **fields) -> tuple[Channel, str]:
    secret = new_secret()
    channel = Channel.objects.create(
        team_id=team_id,
        name="tooling",
        kind=Kind.WEBHOOK,
        url_encrypted=crypto.encrypt(url),
        url_hint="http://127.0.0.1/…",
        secret_encrypted=crypto.encrypt(secret),
        events=ALL_EVENTS,
        **fields,
    )
    return channel, secret


def signed(secret: str, request) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers["X-Nexus-Dashboard-Signature"], expected)


def facts(team_id: int, job_id: int = 7) -> dict:
    return {
        "team_id": team_id,
        "project_id": 1,
        "project_name": "shop",
        "branch_name": "main",
        "job_id": job_id,
    }


def send_due() -> int:
    return async_to_sync(sender.run_once)("sender-a")


@pytest.mark.django_db
def test_the_poller_s_events_reach_a_signed_webhook_once_each(cast, receiver):
    channel, secret = webhook(cast.team["id"], receiver.url)
    slack = Channel.objects.create(
        team_id=cast.team["id"],
        name="#deploys",
        kind=Kind.SLACK,
        url_encrypted=crypto.encrypt(receiver.url.replace("/hook", "/slack")),
        url_hint="x",
        events=["failed"],
    )
    place = new_branch(cast)
    job = place.new_job()
    place.track(cast.owner, job)
    worker = Worker(cast)
    poller = Poller(name="poller-a")
    worker.acquire()
    one_pass(poller)  # running: "started"
    worker.fail(job, "Step failed: exit code 3")
    make_due()
    one_pass(poller)  # failed
    make_due()
    one_pass(poller)  # nothing new: no delivery twice
    assert Delivery.objects.filter(channel=channel).count() == 2
    assert Delivery.objects.filter(channel=slack).count() == 1

    assert send_due() == 3
    requests = receiver.wait_for(3)
    hooks = [request for request in requests if request.path == "/hook"]
    assert sorted(request.json["event"] for request in hooks) == ["deploy.failed", "deploy.started"]
    assert all(signed(secret, request) for request in hooks)
    failed = next(request.json for request in hooks if request.json["event"] == "deploy.failed")
    assert failed["job_id"] == job["id"] and failed["error"] == "Step failed: exit code 3"
    assert failed["url"].endswith(f"/jobs/{job['id']}/")
    (to_slack,) = [request for request in requests if request.path == "/slack"]
    assert set(to_slack.json) == {"text"}
    assert f"#{job['id']}" in to_slack.json["text"] and "failed: Step failed" in to_slack.json["text"]
    assert f"/jobs/{job['id']}/" in to_slack.json["text"]
    assert "X-Nexus-Dashboard-Signature" not in to_slack.headers
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert send_due() == 0
    assert len(receiver.requests) == 3


@pytest.mark.django_db
def test_one_event_is_one_delivery_however_often_it_is_recorded(cast):
    channel, _ = webhook(cast.team["id"], "http://127.0.0.1:9/hook", project_ids=[1])
    for _ in range(2):
        enqueue_job_event(41, "failed", facts(cast.team["id"]))
    enqueue_job_event(42, "failed", facts(cast.team["id"]) | {"project_id": 2})  # not its project
    assert list(Delivery.objects.values_list("channel", "event_id")) == [(channel.pk, 41)]


@pytest.mark.django_db
def test_production_only_channels_hear_only_the_production_branch(cast):
    webhook(cast.team["id"], "http://127.0.0.1:9/hook", production_only=True, production_branch="main")
    enqueue_job_event(51, "completed", facts(cast.team["id"]) | {"branch_name": "feature/x"})
    enqueue_job_event(52, "completed", facts(cast.team["id"]))
    assert list(Delivery.objects.values_list("event_id", flat=True)) == [52]


@pytest.mark.django_db
def test_a_500_is_retried_and_a_redirect_is_not_followed(cast, receiver, settings):
    settings.CHANNELS_RETRY_DELAYS = [0, 0, 0, 0]  # the clock: each retry is due at once
    receiver.statuses = [500, 302]
    _, secret = webhook(cast.team["id"], receiver.url)
    enqueue_job_event(61, "started", facts(cast.team["id"]))
    delivery = Delivery.objects.get()

    send_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.last_error == "The receiver answered 500."
    send_due()
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code) == (2, 302)
    assert "redirects are not followed" in delivery.last_error
    send_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("sent", 3, 200)

    requests = receiver.wait_for(3)
    assert {request.headers["X-Nexus-Dashboard-Delivery"] for request in requests} == {str(delivery.pk)}
    assert all(signed(secret, request) for request in requests)
    assert len(receiver.requests) == 3  # the redirect's Location was never asked for


@pytest.mark.django_db
def test_the_retries_have_their_backoff(cast, receiver, settings):
    settings.CHANNELS_RETRY_DELAYS = [1, 10, 60, 600]
    receiver.statuses = [500]
    webhook(cast.team["id"], receiver.url)
    enqueue_job_event(62, "started", facts(cast.team["id"]))
    send_due()
    delivery = Delivery.objects.get()
    assert delivery.attempts == 1
    assert 0.5 < (delivery.next_attempt_at - delivery.created_at).total_seconds() < 60
    assert send_due() == 0  # not due yet


@pytest.mark.django_db
def test_a_failing_channel_is_paused_and_its_admins_are_told(cast, receiver, settings):
    settings.CHANNELS_RETRY_DELAYS = [0]
    settings.CHANNELS_PAUSE_AFTER = 2
    receiver.statuses = [500] * 10
    channel, _ = webhook(cast.team["id"], receiver.url)
    TeamAdminSeen.objects.create(team_id=cast.team["id"], user=cast.admin.user)
    for event_id in (71, 72):
        enqueue_job_event(event_id, "failed", facts(cast.team["id"], job_id=event_id))

    send_due()
    send_due()
    assert set(Delivery.objects.values_list("status", "attempts")) == {("failed", 2)}
    channel.refresh_from_db()
    assert channel.is_paused and "2 deliveries in a row failed" in channel.paused_reason
    (note,) = Notification.objects.filter(user=cast.admin.user, kind="channel_paused")
    assert "tooling" in note.title and note.url.endswith(f"/teams/{cast.team['id']}/channels/")

    enqueue_job_event(73, "failed", facts(cast.team["id"]))
    assert not Delivery.objects.filter(event_id=73).exists()  # nothing piles up while paused


@pytest.mark.django_db(transaction=True)
def test_two_senders_never_send_one_delivery_twice(cast, receiver):
    webhook(cast.team["id"], receiver.url)
    for event_id in range(100, 140):
        enqueue_job_event(event_id, "completed", facts(cast.team["id"], job_id=event_id))
    expected = sorted(Delivery.objects.values_list("pk", flat=True))
    barrier = threading.Barrier(2)
    tried: dict[str, int] = {}

    def send(name: str) -> None:
        barrier.wait()
        tried[name] = async_to_sync(sender.run_once)(name)

    threads = [threading.Thread(target=send, args=(name,)) for name in ("sender-1", "sender-2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = sorted(int(request.headers["X-Nexus-Dashboard-Delivery"]) for request in receiver.requests)
    assert sum(tried.values()) == len(expected)
    assert set(Delivery.objects.values_list("last_error", flat=True)) == {""}
    assert sent == expected
    assert set(Delivery.objects.values_list("status", "attempts")) == {("sent", 1)}


@pytest.mark.django_db(transaction=True)
def test_a_hanging_receiver_never_holds_up_the_poller_s_passes(cast, receiver, settings):
    settings.CHANNELS_TIMEOUT = 60.0  # the receiver hangs until the test releases it
    receiver.hang = True
    webhook(cast.team["id"], receiver.url)
    enqueue_job_event(81, "started", facts(cast.team["id"]))
    poller = Poller(name="poller-hang")

    async def until(condition, what: str) -> None:
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline, f"still waiting for {what}"
            await asyncio.sleep(0.02)

    async def scenario() -> int:
        stop = asyncio.Event()
        main = runpoller._main(poller, once=False, out=OutputWrapper(io.StringIO()), stop=stop)
        running = asyncio.create_task(main)
        await until(lambda: receiver.requests, "the post to reach the receiver")
        passes = poller.passes
        await until(lambda: poller.passes >= passes + 2, "two passes while the receiver hangs")
        hanging = not receiver.released.is_set()
        receiver.released.set()
        stop.set()
        await running
        return hanging

    assert async_to_sync(scenario)()
    assert Delivery.objects.get().status == DeliveryStatus.SENT  # the post ended before the stop
