"""Round names become unique, ignoring case. Rounds that already share a name keep the
oldest one's name; each later one is renamed "<name> (2)", "<name> (3)"…, and the
rename is recorded in its history. Addresses (slugs) are left as they are."""

from django.conf import settings
from django.db import migrations, models

NAME_MAX_LENGTH = 200


def rename_duplicates(apps, schema_editor):
    BudgetRound = apps.get_model("proposals", "BudgetRound")
    RoundChange = apps.get_model("proposals", "RoundChange")
    taken = set()
    for budget_round in BudgetRound.objects.order_by("pk"):
        name = budget_round.name
        if name.lower() not in taken:
            taken.add(name.lower())
            continue
        n = 2
        while True:
            suffix = f" ({n})"
            candidate = name[: NAME_MAX_LENGTH - len(suffix)] + suffix
            if candidate.lower() not in taken:
                break
            n += 1
        taken.add(candidate.lower())
        BudgetRound.objects.filter(pk=budget_round.pk).update(name=candidate)
        RoundChange.objects.create(
            budget_round_id=budget_round.pk,
            changed_by=None,
            action="renamed",
            changes={"name": [name, candidate]},
            reason="Round names became unique; this round shared its name with an older one.",
        )


class Migration(migrations.Migration):
    dependencies = [
        ("proposals", "0008_city_wide_areas_walk_ins_and_closing"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="roundchange",
            name="reason",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunPython(rename_duplicates, migrations.RunPython.noop),
    ]
