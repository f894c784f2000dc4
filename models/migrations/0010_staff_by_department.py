"""Staff by department: dispatch looks up a department's active consultants on every
intake. Without an index that was a scan of every user, enterprise owners included
(thousands of rows to find three). Partial: enterprise users have no department."""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0009_insights_item_week')]

    initial = False

    operations = [
        ops.RunSQL("CREATE INDEX IF NOT EXISTS idx_app_user_department_role ON app_user (department_id, role) "
                   "WHERE department_id IS NOT NULL",
                   reverse_sql="DROP INDEX IF EXISTS idx_app_user_department_role"),
    ]
