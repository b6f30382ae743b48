"""Role permissions for jobs: officers see failed job items and retry them; auditors see
them and who retried them."""

from django.db import migrations

from pb_platform.migration_helpers import role_permissions_granter

ROLE_PERMISSIONS = {
    "officer": [
        ("jobitem", "view_jobitem", "Can view job item"),
        ("jobitem", "retry_jobitem", "Can retry a job item that failed"),
    ],
    "auditor": [("jobitem", "view_jobitem", "Can view job item")],
}

grant, revoke = role_permissions_granter("pb_platform", ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("pb_platform", "0003_job_items")]
    operations = [migrations.RunPython(grant, revoke)]
