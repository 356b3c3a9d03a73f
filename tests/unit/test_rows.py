"""Instances read by dashboard.core.rows.rows() are the ORM's: every field's value the same (aware
datetimes, JSON, booleans, null), on SQLite and PostgreSQL alike; fields left out are deferred."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.core.rows import columns, rows
from dashboard.nexustoken.models import Status, Task
from dashboard.tracking.models import TrackedJob
from tests.support.helpers import dashboard_user

pytestmark = pytest.mark.django_db


def values(instance):
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def test_rows_are_the_orms_instances():
    now = timezone.now()
    job = TrackedJob.objects.create(
        team_id=1,
        project_id=2,
        branch_id=3,
        job_id=4,
        status="running",
        inputs={"ref": "main", "n": [1, 2.5, None, True]},
        created_at=now - timedelta(minutes=3),
        logs_complete=True,
        gone=False,
    )
    task = Task.objects.create(
        user=dashboard_user(),
        task_id=str(uuid.uuid4()),
        status=Status.SETTLED,
        budget=20,
        awarded_price=15,
        schema={"type": "object"},
        rules=["no <tags>"],
        result_data=None,
        settled_at=now,
    )
    for model, pk in ((TrackedJob, job.pk), (Task, task.pk)):
        sql = f"SELECT {columns(model)} FROM {model._meta.db_table} WHERE id = %s"
        (read,) = rows(model, sql, [pk])
        assert values(read) == values(model.objects.get(pk=pk))
        assert read._state.db == "default" and not read._state.adding

    assert rows(TrackedJob, f"SELECT {columns(TrackedJob)} FROM tracking_trackedjob WHERE id = %s", [0]) == []


def test_a_subset_of_fields_leaves_the_others_deferred():
    task = Task.objects.create(user=dashboard_user(), task_id="t-1", budget=5, settled_at=timezone.now())
    names = ("id", "task_type", "settled_at")
    sql = f"SELECT {columns(Task, names)} FROM nexustoken_task WHERE id = %s"
    (read,) = rows(Task, sql, [task.pk], names)
    assert (read.pk, read.task_type, read.settled_at) == (task.pk, task.task_type, task.settled_at)
    assert read.get_deferred_fields() >= {"budget", "schema", "status"}
