"""LogLine.number (stored, backfilled), its (job, number) index, and the search index of messages:
a pg_trgm GIN index on PostgreSQL, an FTS5 trigram table kept in step by triggers on SQLite.

Beware on SQLite: a later migration that makes Django rebuild tracking_logline (most AlterField
operations) drops the triggers with the old table; it must create them again (SQLITE_INDEX here).
tests/live/test_log_search.py fails if search stops finding new lines."""

from django.db import migrations, models

# Numbers in id order within each job: the poller inserts a job's lines in upstream order.
BACKFILL = """
UPDATE tracking_logline SET number = ranked.n
FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY job_id ORDER BY id) AS n FROM tracking_logline) AS ranked
WHERE tracking_logline.id = ranked.id
"""

POSTGRES_INDEX = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX tracking_line_message_trgm ON tracking_logline USING gin (message gin_trgm_ops)",
]
POSTGRES_DROP = ["DROP INDEX IF EXISTS tracking_line_message_trgm"]

# An external-content FTS5 table: it stores only the index; the text stays in tracking_logline.
SQLITE_INDEX = [
    "CREATE VIRTUAL TABLE tracking_logline_fts USING fts5("
    "message, content='tracking_logline', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER tracking_logline_fts_insert AFTER INSERT ON tracking_logline BEGIN "
    "INSERT INTO tracking_logline_fts(rowid, message) VALUES (new.id, new.message); END",
    "CREATE TRIGGER tracking_logline_fts_delete AFTER DELETE ON tracking_logline BEGIN "
    "INSERT INTO tracking_logline_fts(tracking_logline_fts, rowid, message) "
    "VALUES ('delete', old.id, old.message); END",
    "CREATE TRIGGER tracking_logline_fts_update AFTER UPDATE OF message ON tracking_logline BEGIN "
    "INSERT INTO tracking_logline_fts(tracking_logline_fts, rowid, message) "
    "VALUES ('delete', old.id, old.message); "
    "INSERT INTO tracking_logline_fts(rowid, message) VALUES (new.id, new.message); END",
    "INSERT INTO tracking_logline_fts(tracking_logline_fts) VALUES ('rebuild')",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS tracking_logline_fts_insert",
    "DROP TRIGGER IF EXISTS tracking_logline_fts_delete",
    "DROP TRIGGER IF EXISTS tracking_logline_fts_update",
    "DROP TABLE IF EXISTS tracking_logline_fts",
]


def _run(schema_editor, statements_by_vendor):
    for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


def backfill(apps, schema_editor):
    schema_editor.execute(BACKFILL)


def create_search_index(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRES_INDEX, "sqlite": SQLITE_INDEX})


def drop_search_index(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRES_DROP, "sqlite": SQLITE_DROP})


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0003_trackedjob_queue_worker_teamroster"),
    ]

    operations = [
        migrations.AddField(
            model_name="logline",
            name="number",
            field=models.PositiveIntegerField(default=0),
            preserve_default=False,
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="logline",
            index=models.Index(fields=["job", "number"], name="tracking_line_number_idx"),
        ),
        migrations.RunPython(create_search_index, drop_search_index),
    ]
