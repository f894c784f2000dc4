"""Five indexes on ``consultation`` that no query needs, dropped: each was one more
entry (and one more relation lock) that every intake wrote (python -m bench intake).

- ``(enterprise_id, status)``: the enterprise's list, the duplicate suggestion and the
  cascade from a deleted enterprise all start from ``enterprise_id``, which
  ``ix_consultation_enterprise_accepted`` (0006) also leads with; an enterprise has few
  cases, so filtering their status after the index costs nothing measurable.
- ``topic_code``, ``policy_series_id``, ``merged_into_id``, ``overdue``: no query looks a
  case up by them. Statistics read them over an ``accepted_at`` or ``due_at`` range
  (their own indexes), unclassified cases have their partial index (0009), and the
  overdue lists go through the status, department or assignee indexes first.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

#: field → the index its ``db_index`` made (the same name on SQLite and PostgreSQL)
FIELD_INDEXES = {"merged_into_id": "idx_consultatio_merged__c15f2b", "overdue": "idx_consultatio_overdue_1b43cc",
                 "policy_series_id": "idx_consultatio_policy__aee7ab", "topic_code": "idx_consultatio_topic_c_13565c"}


class DropFieldIndex(ops.AlterField):
    """``db_index`` switched off: only the index is dropped (or made again going back).
    The generic field change rebuilds the whole table on SQLite, which loses its other
    indexes and the load triggers of 0011."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        if state_editor:
            await state_editor.client.execute_script(f"DROP INDEX IF EXISTS {FIELD_INDEXES[self.name]}")

    async def database_backward(self, app_label, old_state, new_state, state_editor=None):
        if state_editor:
            await state_editor.client.execute_script(
                f"CREATE INDEX IF NOT EXISTS {FIELD_INDEXES[self.name]} ON consultation ({self.name})")


class Migration(migrations.Migration):
    dependencies = [('models', '0016_bundle_counts')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='Consultation',
            name=None,
            fields=['enterprise_id', 'status'],
        ),
        DropFieldIndex(model_name='Consultation', name='merged_into_id', field=fields.IntField(null=True)),
        DropFieldIndex(model_name='Consultation', name='overdue', field=fields.BooleanField(default=False)),
        DropFieldIndex(model_name='Consultation', name='policy_series_id', field=fields.IntField(null=True)),
        DropFieldIndex(model_name='Consultation', name='topic_code',
                       field=fields.CharField(default='', max_length=32)),
    ]
