"""The bell, the notification list (open, mark read, mark all read) and the preferences page."""

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from dashboard.notifications import views
from dashboard.notifications.models import DEFAULT_EMAIL, Kind, Notification, NotificationPreference
from dashboard.notifications.notify import notify
from tests.support.helpers import dashboard_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return dashboard_user()


@pytest.fixture
def stranger():
    return dashboard_user()


def raise_one(user, title="Job #7 failed", url="/teams/1/projects/2/branches/3/jobs/7/") -> Notification:
    return notify(user, kind=Kind.JOB_FAILED, title=title, body="npm ci exited with 1", url=url)


def test_the_bell_shows_the_unread_count(client, owner):
    client.force_login(owner)
    page = client.get(reverse("notifications:notifications")).content.decode()
    assert 'id="bell"' in page and 'id="bell-count"' not in page
    raise_one(owner)
    raise_one(owner, title="Job #8 failed")
    page = client.get(reverse("notifications:notifications")).content.decode()
    assert '<span class="bell-count" id="bell-count">2</span>' in page
    assert 'aria-label="Notifications, 2 unread"' in page


def test_the_list_shows_only_the_users_own_notifications(client, owner, stranger):
    raise_one(owner, title="For the owner")
    raise_one(stranger, title="For someone else")
    client.force_login(owner)
    page = client.get(reverse("notifications:notifications")).content.decode()
    assert "For the owner" in page and "For someone else" not in page
    assert "npm ci exited with 1" in page


def test_opening_a_notification_marks_it_read_and_follows_its_link(client, owner):
    notification = raise_one(owner)
    client.force_login(owner)
    response = client.post(reverse("notifications:notifications"), {"id": notification.pk, "open": "1"})
    assert response.status_code == 302 and response.url == notification.url
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_a_notification_link_never_leaves_the_site(client, owner):
    notification = raise_one(owner, url="https://evil.example.com/")
    client.force_login(owner)
    response = client.post(reverse("notifications:notifications"), {"id": notification.pk, "open": "1"})
    assert response.url == reverse("notifications:notifications")


def test_mark_read_and_mark_all_read(client, owner, stranger):
    first, second, third = raise_one(owner), raise_one(owner), raise_one(owner)
    theirs = raise_one(stranger)
    client.force_login(owner)
    response = client.post(reverse("notifications:notifications"), {"id": first.pk, "read": "1"})
    assert response.status_code == 302
    assert Notification.objects.filter(user=owner, read_at__isnull=True).count() == 2
    fragment = client.post(
        reverse("notifications:notifications"), {"read_all": "1"}, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200
    assert "2 notifications marked as read." in fragment.content.decode()
    assert not Notification.objects.filter(user=owner, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert {second.pk, third.pk} <= set(
        Notification.objects.filter(read_at__isnull=False).values_list("pk", flat=True)
    )


@pytest.mark.parametrize("posted", [{"id": "x", "read": "1"}, {"read": "1"}, {"id": "999999", "open": "1"}])
def test_a_bad_or_unknown_id_is_a_404(client, owner, posted):
    client.force_login(owner)
    assert client.post(reverse("notifications:notifications"), posted).status_code == 404


def test_someone_elses_notification_is_a_404_and_stays_unread(client, owner, stranger):
    theirs = raise_one(stranger)
    client.force_login(owner)
    for action in ("read", "open"):
        assert (
            client.post(reverse("notifications:notifications"), {"id": theirs.pk, action: "1"}).status_code
            == 404
        )
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_pages_ask_strangers_to_sign_in(client):
    for name in ("notifications:notifications", "notifications:notification_preferences"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_preferences_start_with_email_for_failures_and_can_be_changed(client, owner):
    client.force_login(owner)
    page = client.get(reverse("notifications:notification_preferences")).content.decode()
    assert f'id="email_{Kind.JOB_FAILED}" aria-label' in page
    assert (
        'value="job_failed" id="email_job_failed" aria-label="A deploy failed: send an email" checked' in page
    )
    assert 'value="job_started" id="email_job_started" aria-label="A deploy started: send an email">' in page
    assert Kind.JOB_FAILED in DEFAULT_EMAIL

    response = client.post(
        reverse("notifications:notification_preferences"), {"in_app": ["job_failed", "job_completed"]}
    )
    assert response.status_code == 302
    stored = NotificationPreference.objects.get(user=owner)
    assert stored.in_app == ["job_failed", "job_completed"] and stored.email == []
    assert notify(owner, kind=Kind.JOB_STARTED, title="started") is None
    mail.outbox.clear()
    assert notify(owner, kind=Kind.JOB_FAILED, title="failed") is not None
    assert mail.outbox == []


def test_an_email_without_the_bell_is_refused_with_a_sentence(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("notifications:notification_preferences"), {"in_app": [], "email": ["job_failed"]}
    )
    assert response.status_code == 400
    assert "Emails need the bell too; turn it on for: a deploy failed." in response.content.decode()
    assert not NotificationPreference.objects.filter(user=owner).exists()


def test_an_unknown_kind_is_refused(client, owner):
    client.force_login(owner)
    response = client.post(reverse("notifications:notification_preferences"), {"in_app": ["job_exploded"]})
    assert response.status_code == 400
    assert not NotificationPreference.objects.filter(user=owner).exists()


@pytest.mark.parametrize("listed", [3, 10])
def test_it_counts_all_and_unread_whether_or_not_every_one_is_listed(client, owner, monkeypatch, listed):
    for n in range(5):
        raise_one(owner, title=f"Job #{n} failed")
    Notification.objects.filter(pk__in=Notification.objects.filter(user=owner).values("pk")[:2]).update(
        read_at=timezone.now()
    )
    monkeypatch.setattr(views, "LISTED", listed)
    client.force_login(owner)
    context = client.get(reverse("notifications:notifications")).context
    assert len(context["notifications"]) == min(listed, 5)
    assert (context["total"], context["unread"]) == (5, 3)
