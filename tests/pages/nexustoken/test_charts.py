"""Spend and usage charts: the figures, their geometry, and the accessible page around them."""

import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string
from django.utils import timezone

from dashboard.nexustoken import charts
from dashboard.nexustoken.models import Budget, Status, Task
from tests.support.helpers import dashboard_user

pytestmark = pytest.mark.django_db


def settled(user, price: int, fee: int, days_ago: int = 0, task_type: str = "json_extraction") -> Task:
    return Task.objects.create(
        user=user,
        task_id=str(uuid.uuid4()),
        task_type=task_type,
        status=Status.SETTLED,
        budget=price + fee,
        awarded_price=price,
        platform_fee=fee,
        settled_at=timezone.now() - timedelta(days=days_ago),
    )


def open_task(user, status: str = Status.BIDDING, budget: int = 10) -> Task:
    return Task.objects.create(user=user, task_id=str(uuid.uuid4()), status=status, budget=budget)


@pytest.fixture
def owner():
    return dashboard_user()


def test_it_sums_spend_per_day_over_the_last_30_days(owner):
    settled(owner, 20, 1)
    settled(owner, 9, 1)
    settled(owner, 40, 2, days_ago=3)
    settled(owner, 99, 5, days_ago=30)  # outside the window
    open_task(owner)  # frozen, not spent on any day

    chart = charts.spend_chart(owner, limit=None)
    assert len(chart.days) == 30
    assert chart.days[-1].day == timezone.localdate()
    assert chart.days[-1].spent == 31
    assert chart.days[-4].spent == 42
    assert [day.running for day in chart.days][-4:] == [42, 42, 42, 73]
    assert chart.total == 73
    assert chart.limit_y is None


def test_it_draws_bars_and_the_limit_on_one_scale(owner):
    settled(owner, 95, 5)
    chart = charts.spend_chart(owner, limit=200)
    plot = chart.baseline - charts.TOP
    # The axis tops out at a round 200: a 100 NC bar is half the plot, the limit line at its top.
    assert [tick.value for tick in chart.ticks] == [0, 100, 200]
    assert chart.days[-1].bar_height == pytest.approx(plot / 2)
    assert chart.limit_y == pytest.approx(charts.TOP)
    assert chart.days[-1].line_y == pytest.approx(chart.baseline - plot / 2)


def test_it_counts_tasks_by_status_including_empty_ones(owner):
    open_task(owner)
    open_task(owner)
    open_task(owner, Status.AWARDED)
    settled(owner, 5, 1)
    chart = charts.status_chart(owner)
    values = {bar.label: bar.value for bar in chart.bars}
    assert values == {
        "Bidding": 2,
        "Waiting for bids": 0,
        "Awarded": 1,
        "Settled": 1,
        "Expired": 0,
        "Cancelled": 0,
    }
    widest = max(chart.bars, key=lambda bar: bar.width)
    assert widest.label == "Bidding"
    assert next(bar for bar in chart.bars if bar.label == "Awarded").width == pytest.approx(widest.width / 2)


def test_it_averages_the_cost_of_settled_tasks_per_type(owner):
    settled(owner, 10, 1)
    settled(owner, 20, 1)
    settled(owner, 50, 3, task_type="text_generation")
    open_task(owner)
    chart = charts.price_chart(owner)
    rows = [(bar.label, bar.shown, bar.count) for bar in chart.bars]
    assert rows == [("JSON extraction", "16.0 NC", 2), ("Text generation", "53.0 NC", 1)]


def test_it_renders_the_charts_as_inline_svg_with_captions_and_tables(client, owner):
    Budget.objects.create(user=owner, monthly_limit=500)
    settled(owner, 40, 2)
    open_task(owner, budget=25)
    client.force_login(owner)
    page = client.get("/credits/usage/").text

    assert page.count('<svg viewBox="0 0 720') == 4
    for name in ("spend-chart", "type-chart", "status-chart", "price-chart"):
        assert f'role="img" aria-labelledby="{name}-caption"' in page
        assert f'<figcaption id="{name}-caption">' in page
    assert "42 NC in all, against a monthly limit of 500 NC" in page
    assert 'class="chart-limit"' in page
    today = timezone.localdate().strftime("%a %-d %b")
    assert re.search(rf"<th scope=\"row\">{today}</th><td class=\"num\">42</td>", page)
    assert '<th scope="row">Bidding</th><td class="num">1</td>' in page
    assert '<th scope="row">JSON extraction</th><td class="num">42.0 NC</td>' in page
    assert 'id="month-spend">67 NC' in page  # 42 spent + 25 frozen
    assert "<canvas" not in page
    assert not re.search(r"<script[^>]+src=\"https?://", page)


def test_it_says_when_there_is_nothing_to_chart(client, owner):
    client.force_login(owner)
    page = client.get("/credits/usage/").text
    assert "No settled tasks yet." in page
    assert "0 NC in all" in page


def test_it_lets_every_data_table_scroll_sideways_on_a_phone(client, owner):
    settled(owner, 40, 2, task_type="a_long_task_type_name_for_a_phone_screen")
    open_task(owner)
    client.force_login(owner)
    page = client.get("/credits/usage/").text
    assert page.count("<table") == 4
    assert len(re.findall(r'<div class="table-wrap">\s*<table', page)) == 4


@pytest.mark.parametrize("days", [7, 30, 90, 366])
def test_the_chart_writes_its_days_as_its_old_template_loops_did(owner, days):
    """The bars, date labels and table rows are written in Python (SpendChart.day_marks and
    table_rows); old_spend_chart.html is the template that drew them in loops."""
    for days_ago, price in ((0, 20), (1, 5), (3, 1234), (days - 1, 7)):
        settled(owner, price, 1, days_ago=days_ago)
    old = Template((Path(__file__).parent / "old_spend_chart.html").read_text())
    for limit in (None, 50, 5000):
        chart = charts.spend_chart(owner, limit=limit, days=days)
        context = {"chart": chart, "name": "spend-chart", "period": f"the last {days} days"}
        assert render_to_string("nexustoken/_spend_chart.html", context) == old.render(Context(context))
