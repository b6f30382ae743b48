from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from pb_platform import media, views
from pb_platform.access import two_factor_for_staff
from pb_platform.api import api
from proposals.views.rounds import home

admin.site.site_header = "Commonpurse administration"
admin.site.site_title = "Commonpurse admin"
# The admin signs in through allauth's sign-in page, so it gets the same rate limits,
# lockout and two-factor step as everyone else (Django's own admin login has none).
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
# …and, when two-factor sign-in is required for staff, every admin page asks for it (set
# before `admin.site.urls` below, which wraps each admin view with `admin_view`).
_admin_view = admin.site.admin_view
admin.site.admin_view = lambda view, cacheable=False: two_factor_for_staff(  # type: ignore[method-assign]
    _admin_view(view, cacheable)
)

urlpatterns = [
    path("", home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("officer/jobs/", views.job_history, name="job_history"),
    path("officer/jobs/<int:pk>/retry/", views.job_item_retry, name="job_item_retry"),
    path("accounts/emails/", views.email_preferences, name="email_preferences"),
    path("emails/unsubscribe/<str:token>/", views.email_unsubscribe, name="email_unsubscribe"),
    path("accounts/my-data.json", views.personal_data_download, name="personal_data_download"),
    path("accounts/close/", views.account_close, name="account_close"),
    path("privacy/", views.privacy_notice, name="privacy"),
    path("language/", views.language_choose, name="language_choose"),
    # The ballot's live total in the reader's language (static/js/ballot.js).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript_catalog"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    # The public, read-only API and its OpenAPI document and docs (pb_platform/api.py).
    path("api/v1/", api.urls),
    path("", include("proposals.urls")),
    path("", include("voting.urls")),
    path("", include("ledgers.urls")),
]

if settings.MEDIA_STORAGE == "filesystem":
    # Uploads on disk, served by the app with or without DEBUG (pb_platform/media.py);
    # in an object store they have the store's own addresses instead.
    urlpatterns.append(
        path(f"{settings.MEDIA_URL.strip('/')}/<path:name>", media.upload, name="media_upload")
    )
