"""A case's history and thread by case: PostgreSQL indexes no foreign key by itself, so
every case page (its events and messages, read in id order) and every cascade delete
scanned the whole of both tables, which grow by a few rows with every intake. Each
intake now writes two or three entries more here (it writes five fewer on
``consultation`` since 0017)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0017_consultation_fewer_indexes')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='ConsultationEvent',
            index=Index(fields=['consultation_id', 'id']),
        ),
        ops.AddIndex(
            model_name='ConsultationMessage',
            index=Index(fields=['consultation_id', 'id']),
        ),
    ]
