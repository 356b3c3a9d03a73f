"""Spend and usage charts: the numbers and the geometry, which the templates draw as inline SVG.

Every chart is also given to the template as rows for its data table, so a screen reader (or anyone
who wants the exact figures) reads the same data the bars show.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import User
from django.db import connection
from django.utils import dateformat, timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from dashboard.core.labels import label
from dashboard.core.rows import columns, rows

from .models import Status, Task

# The SVG's own coordinate system; CSS scales it to the width of the card.
WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 28
BAR_HEIGHT, BAR_GAP, LABEL_WIDTH = 22, 8, 170


@dataclass(frozen=True)
class Day:
    day: date
    spent: int
    running: int  # spent over the window up to and including this day
    x: float
    y: float
    bar_height: float
    line_y: float
    center_x: float
    labelled: bool = False  # the date is printed under this bar (a few across the axis, not all)

    @property
    def short(self) -> str:
        """The date under a bar and in its tooltip: "3 Dec"."""
        return dateformat.format(self.day, "j M")

    @property
    def long(self) -> str:
        """The date in the data table: "Thu 3 Dec"."""
        return dateformat.format(self.day, "D j M")


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class SpendChart:
    days: list[Day]
    limit: int | None
    limit_y: float | None
    ticks: list[Tick]
    bar_width: float
    line_points: str
    total: int
    first: date | None = None
    last: date | None = None
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    baseline: int = HEIGHT - BOTTOM

    @property
    def axis_label_x(self) -> int:
        return LEFT - 6

    @property
    def date_label_y(self) -> int:
        return HEIGHT - BOTTOM + 18

    # The parts drawn once a day, written here rather than in a template loop: 30 to 366 days, each
    # with a few lookups the template language resolves one by one, were most of the usage page's
    # CPU. The markup is what _spend_chart.html wrote (the tests render the old loops beside it).

    @property
    def day_marks(self) -> SafeString:
        """Each day's bar (when it spent anything) and date label (on a few days), in the SVG."""
        marks = []
        for day in self.days:
            bar = (
                f'<rect x="{day.x}" y="{day.y}" width="{self.bar_width}" height="{day.bar_height}"'
                f' class="chart-bar"><title>{escape(day.short)}: {day.spent} NC</title></rect>'
                if day.spent
                else ""
            )
            label = (
                f'<text x="{day.center_x}" y="{self.date_label_y}" text-anchor="middle"'
                f' class="chart-axis">{escape(day.short)}</text>'
                if day.labelled
                else ""
            )
            marks.append(f"\n      {bar}\n      {label}\n    ")
        return mark_safe("".join(marks))  # noqa: S308  # numbers, and dates escaped

    @property
    def table_rows(self) -> SafeString:
        """The data table's rows: day, spent, running total."""
        return mark_safe(  # noqa: S308  # numbers, and dates escaped
            "".join(
                f'<tr><th scope="row">{escape(day.long)}</th><td class="num">{day.spent}</td>'
                f'<td class="num">{day.running}</td></tr>'
                for day in self.days
            )
        )


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str  # the value as the table and the bar's label print it
    y: float
    width: float
    count: int = 0

    @property
    def text_y(self) -> float:
        return self.y + BAR_HEIGHT * 0.7

    @property
    def value_x(self) -> float:
        return LABEL_WIDTH + self.width + 6


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    height: int
    width: int = WIDTH
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT

    @property
    def label_x(self) -> int:
        return LABEL_WIDTH - 8


def _aware(day: date) -> datetime:
    """The first moment of a local day."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _nice_ceiling(value: int) -> int:
    """A round axis maximum at or above value (10, 20, 50, 100, 200, …)."""
    step = 10
    while True:
        for factor in (1, 2, 5):
            if value <= step * factor:
                return step * factor
        step *= 10


def _label_step(days: int) -> int:
    """Every how many days a date is printed under the bars: about five labels, weekly for a month."""
    if days <= 7:
        return 1
    if days <= 31:
        return 7
    return -(-days // 5)


# The user's settled tasks, the one read behind the three spend charts (each made its own query with
# the ORM, about 0.4 ms of CPU apiece). Only names from the model are formatted in.
_CHARTED = ("id", "task_type", "settled_at", "awarded_price", "platform_fee")
_SETTLED = (
    f"SELECT {columns(Task, _CHARTED)} FROM {Task._meta.db_table}"  # noqa: S608
    " WHERE user_id = %s AND status = %s"
)


def settled_tasks(user: User) -> list[Task]:
    """Every settled task of the user, with only what the charts read (type, settled_at, price, fee)."""
    return rows(Task, _SETTLED, [user.pk, str(Status.SETTLED.value)], _CHARTED)


def _cost(task: Task) -> int:
    return (task.awarded_price or 0) + (task.platform_fee or 0)


def spend_chart(
    user: User,
    *,
    limit: int | None,
    days: int = 30,
    today: date | None = None,
    first: date | None = None,
    settled: list[Task] | None = None,
) -> SpendChart:
    """Spend per day (awarded price + fee of tasks settled that day) over the `days` days ending
    `today` (or starting `first`), its running total, and the monthly limit as a horizontal line on
    the same scale. A range longer than a month gets no limit line: its running total spans several
    months' limits, so the line would compare unlike things. `settled`: the user's settled tasks,
    when the caller has read them already."""
    today = today or timezone.localdate()
    if first is None:
        first = today - timedelta(days=days - 1)
    else:
        days = (today - first).days + 1
    if days > 31:
        limit = None
    start, end = _aware(first), _aware(first + timedelta(days=days))
    per_day: Counter[date] = Counter()
    for task in settled_tasks(user) if settled is None else settled:
        if task.settled_at is not None and start <= task.settled_at < end:
            per_day[timezone.localtime(task.settled_at).date()] += _cost(task)

    dates = [first + timedelta(days=offset) for offset in range(days)]
    running, totals = 0, []
    for day in dates:
        running += per_day[day]
        totals.append(running)
    top = _nice_ceiling(max([running, limit or 0, 1]))
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / days
    step = _label_step(days)

    def y_of(value: int) -> float:
        return round(HEIGHT - BOTTOM - value / top * plot_height, 1)

    rows = [
        Day(
            day=day,
            spent=per_day[day],
            running=total,
            x=round(LEFT + index * slot + slot * 0.15, 1),
            y=y_of(per_day[day]),
            bar_height=round(per_day[day] / top * plot_height, 1),
            line_y=y_of(total),
            center_x=round(LEFT + (index + 0.5) * slot, 1),
            labelled=(days - 1 - index) % step == 0,
        )
        for index, (day, total) in enumerate(zip(dates, totals, strict=True))
    ]
    points = " ".join(f"{row.center_x},{row.line_y}" for row in rows)
    return SpendChart(
        days=rows,
        limit=limit,
        limit_y=y_of(limit) if limit else None,
        ticks=[Tick(value=value, y=y_of(value)) for value in (0, top // 2, top)],
        bar_width=round(slot * 0.7, 1),
        line_points=points,
        total=running,
        first=first,
        last=dates[-1],
    )


def _bar_chart(rows: list[tuple[str, float, str, int]]) -> BarChart:
    top = max([value for _, value, _, _ in rows] + [1])
    span = WIDTH - LABEL_WIDTH - 60
    bars = [
        Bar(
            label=label,
            value=value,
            shown=shown,
            count=count,
            y=index * (BAR_HEIGHT + BAR_GAP),
            width=round(value / top * span, 1),
        )
        for index, (label, value, shown, count) in enumerate(rows)
    ]
    return BarChart(bars=bars, height=max(1, len(bars)) * (BAR_HEIGHT + BAR_GAP))


# Counted by the database, as plain SQL (the ORM's build took about 0.4 ms of CPU). The table's name only.
_BY_STATUS = f"SELECT status, COUNT(*) FROM {Task._meta.db_table} WHERE user_id = %s GROUP BY status"  # noqa: S608


def status_chart(user: User) -> BarChart:
    """How many of the user's tasks are in each status (every status listed, zeros included)."""
    with connection.cursor() as cursor:
        cursor.execute(_BY_STATUS, [user.pk])
        counts: Counter[str] = Counter(dict(cursor.fetchall()))
    return _bar_chart(
        [
            (status.label, counts[status.value], str(counts[status.value]), counts[status.value])
            for status in Status
        ]
    )


def price_chart(user: User, settled: list[Task] | None = None) -> BarChart:
    """Average cost (awarded price + fee) of a settled task, per task type that has any."""
    costs: defaultdict[str, list[int]] = defaultdict(list)
    for task in settled_tasks(user) if settled is None else settled:
        if task.awarded_price is not None:
            costs[task.task_type].append(_cost(task))
    rows: list[tuple[str, float, str, int]] = []
    for task_type, values in sorted(costs.items()):
        average = sum(values) / len(values)
        rows.append((label(task_type), average, f"{average:.1f} NC", len(values)))
    return _bar_chart(rows)


def spend_by_type(user: User, start: datetime, end: datetime, settled: list[Task] | None = None) -> BarChart:
    """What settled tasks cost (price + fee) per task type, settled in [start, end): biggest first."""
    totals: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for task in settled_tasks(user) if settled is None else settled:
        if task.settled_at is not None and start <= task.settled_at < end:
            totals[task.task_type] += _cost(task)
            counts[task.task_type] += 1
    ordered = sorted(totals, key=lambda kind: (-totals[kind], kind))
    return _bar_chart([(label(kind), totals[kind], f"{totals[kind]:,} NC", counts[kind]) for kind in ordered])
