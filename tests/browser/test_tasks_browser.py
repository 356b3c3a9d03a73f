"""In Chromium: post a task from a template and watch it settle without a reload (a worker account
settles it over the API and the sandbox's signed webhook reaches the live dashboard); cancel one."""

import threading

import pytest

from dashboard.nexustoken.models import Budget, Origin, Source, Status, Task, TaskEvent, TaskTemplate
from dashboard.nexustoken.recording import create_record
from dashboard.services.nexustoken import Task as UpstreamTask
from tests.support.helpers import sign_in
from tests.support.tasks_cast import EXAMPLE, SCHEMA, Person, settle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def open_as(page, base: str, person: Person, then: str) -> None:
    sign_in(page, base, person.user)
    page.goto(f"{base}{then}")


def test_it_posts_from_a_template_and_shows_the_settled_result_live(
    live_server, page, sandbox, settings, shoot
):
    settings.PUBLIC_URL = live_server.url  # where the sandbox delivers this task's webhook
    owner = Person(sandbox)
    TaskTemplate.objects.create(
        user=owner.user,
        name="Quarterly revenue",
        schema=SCHEMA,
        example_output=EXAMPLE,
        default_budget=25,
        settings={
            "max_seconds": 120,
            "quality_preference": "cheapest",
            "min_skill_rating": 0,
            "pending_pool_hours": 24,
            "auto_retry": 3,
        },
    )

    open_as(page, live_server.url, owner, "/tasks/new/")
    page.get_by_role("link", name="Quarterly revenue").click()
    page.get_by_label("Input text").fill("Globex Corp reported revenue of $12.5 million for Q2.")
    assert page.get_by_label("Budget (NC)").input_value() == "25"
    shoot(page, "task-form")
    page.get_by_role("button", name="Post task").click()
    page.wait_for_url(f"{live_server.url}/tasks/*/")
    task = Task.objects.get(user=owner.user)
    assert task.budget == 25 and task.quality_preference == "cheapest"

    page.evaluate("window.stillTheSamePage = true")
    # A worker bids, wins and submits while the page is open. (The sandbox's own simulated nodes
    # would do it too, but after every open task other tests left behind.)
    worker = threading.Thread(target=settle, args=(sandbox, task.task_id))
    worker.start()
    page.locator("#task-status", has_text="Settled").wait_for(timeout=30_000)
    assert page.evaluate("window.stillTheSamePage") is True  # htmx updated it: no reload
    worker.join()
    result = page.locator("#result")
    assert owner.upstream(task.task_id)["result_data"]["company"] in result.inner_text()
    assert result.get_by_role("link", name="Download JSON").is_visible()
    assert TaskEvent.objects.filter(task=task, to_status=Status.SETTLED, source=Source.WEBHOOK).exists()
    shoot(page, "task-page")


def test_it_cancels_a_task_after_confirming_in_a_dialog(live_server, page, sandbox, shoot):
    sandbox.set_knobs(deliver_webhooks=False)
    owner = Person(sandbox)
    # Posted with the SDK's call and recorded as the form does (Playwright's event loop owns this
    # thread, so Django's test client cannot run the async view here).
    posted = owner.api.post(
        "/tasks",
        json={
            "input_data": "Cancel me",
            "validation_schema": SCHEMA,
            "example_output": EXAMPLE,
            "max_budget_credits": 8,
        },
    ).json()
    task = create_record(owner.user, UpstreamTask.model_validate(posted), origin=Origin.POSTED)

    open_as(page, live_server.url, owner, f"/tasks/{task.task_id}/")
    page.get_by_role("link", name="Cancel task…").click()
    dialog = page.locator("#cancel-dialog")
    dialog.get_by_text("Cancel this task?").wait_for()
    assert page.url == f"{live_server.url}/tasks/{task.task_id}/"  # a dialog, not the no-JS page
    dialog.get_by_role("button", name="Cancel the task").click()

    page.locator("#task-status", has_text="Cancelled").wait_for()
    assert owner.upstream(task.task_id)["status"] == "CANCELLED"
    assert not page.get_by_role("link", name="Cancel task…").is_visible()
    page.goto(f"{live_server.url}/tasks/")
    page.locator(f'tr[data-task="{task.task_id}"]', has_text="Cancelled").wait_for()
    shoot(page, "tasks")


def test_it_deletes_a_template_only_after_confirming_even_without_javascript(live_server, browser, sandbox):
    owner = Person(sandbox)
    template = TaskTemplate.objects.create(
        user=owner.user, name="Invoices", schema=SCHEMA, example_output=EXAMPLE
    )
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        open_as(page, live_server.url, owner, "/tasks/new/")
        assert not page.get_by_role("button", name="Delete the template").is_visible()
        page.get_by_role("link", name="Delete…").click()
        page.wait_for_url(f"{live_server.url}/tasks/new/?delete_template={template.pk}#delete-template-*")
        dialog = page.get_by_role("dialog", name="Delete the template “Invoices”?")
        assert dialog.is_visible()
        box = dialog.bounding_box()  # on a phone the templates sit below the long form:
        assert 0 <= box["y"] < 844  # the page opens scrolled to the question, not at the top
        assert TaskTemplate.objects.filter(pk=template.pk).exists()
        dialog.get_by_role("link", name="Keep it").click()
        page.wait_for_url(f"{live_server.url}/tasks/new/")
        assert TaskTemplate.objects.filter(pk=template.pk).exists()

        page.get_by_role("link", name="Delete…").click()
        page.get_by_role("button", name="Delete the template").click()
        page.wait_for_url(f"{live_server.url}/tasks/new/")
        page.get_by_text("No templates yet.").wait_for()
    finally:
        context.close()
    assert not TaskTemplate.objects.filter(pk=template.pk).exists()


# Read in one go, from one layout: the filter button's bottom edge within 2 px of the search field's,
# and the list (its empty state) at least 12 px below the button.
LINED_UP = """() => {
    const box = (selector) => document.querySelector(selector).getBoundingClientRect();
    const button = box("#task-filters button[type=submit]");
    const search = box("#task-filters input[name=q]");
    const list = box("#page-body .empty-state");
    return Math.abs(button.bottom - search.bottom) <= 2 && list.top >= button.bottom + 12;
}"""


def test_it_lines_the_filter_button_up_with_the_inputs_above_the_list(live_server, page, sandbox):
    owner = Person(sandbox)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 844})
        if width == 1280:
            open_as(page, live_server.url, owner, "/tasks/")
        # Measured separately, the three boxes could come from two layouts (the new width's lands a
        # frame or two after the resize): a layout that never lines them up fails here, at the timeout.
        page.wait_for_function(LINED_UP)

    page.goto(f"{live_server.url}/tasks/new/")
    check = page.get_by_role("button", name="Check schema and example").bounding_box()
    template = page.locator("#task-form fieldset").bounding_box()
    assert template["y"] >= check["y"] + check["height"] + 24  # set apart from the post buttons


def test_it_puts_the_overrides_explanation_under_its_checkbox_on_a_phone(live_server, page, sandbox):
    owner = Person(sandbox)
    Budget.objects.create(user=owner.user, monthly_limit=30)
    page.set_viewport_size({"width": 390, "height": 844})
    open_as(page, live_server.url, owner, "/tasks/new/")
    label = page.get_by_text("Post it even if it crosses my monthly spend limit").bounding_box()
    help_text = page.locator("#override-help").bounding_box()
    assert help_text["y"] >= label["y"] + label["height"]  # below it, not squeezed beside it
    assert label["width"] > 250  # the label line uses the width of the form
