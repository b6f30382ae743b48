"""The Celery app. Settings live in Django settings under the ``CELERY_`` prefix,
including every beat schedule; each app's ``tasks.py`` is discovered automatically."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pb_platform.settings")

app = Celery("pb_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
