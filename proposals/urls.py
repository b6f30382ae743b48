from django.urls import path

from proposals.views import amendments as amendment_views
from proposals.views import coauthors as coauthor_views
from proposals.views import merges as merge_views
from proposals.views import priorities as priority_views
from proposals.views import proposals as proposal_views
from proposals.views import register as register_views
from proposals.views import rounds as views

app_name = "proposals"

urlpatterns = [
    path("rounds/", views.round_list, name="round_list"),
    path("rounds/<slug:slug>/", views.round_detail, name="round_detail"),
    path("officer/", views.officer_dashboard, name="officer_dashboard"),
    path("officer/rounds/new/", views.officer_round_create, name="officer_round_create"),
    path("officer/rounds/<slug:slug>/edit/", views.officer_round_edit, name="officer_round_edit"),
    path("officer/areas/", views.officer_areas, name="officer_areas"),
    path("officer/areas/<int:pk>/edit/", views.officer_area_edit, name="officer_area_edit"),
    path("officer/residents/", views.officer_residents, name="officer_residents"),
    path(
        "officer/residents/<int:pk>/area/",
        views.officer_resident_area,
        name="officer_resident_area",
    ),
    path("officer/register/", register_views.officer_register, name="officer_register"),
    path(
        "officer/register/codes/",
        register_views.officer_register_codes,
        name="officer_register_codes",
    ),
    path(
        "officer/residents/<int:pk>/verify/",
        register_views.officer_resident_verify,
        name="officer_resident_verify",
    ),
    path("accounts/verify/", register_views.eligibility_verify, name="eligibility_verify"),
    path("audit/", views.audit_overview, name="audit_overview"),
    path("rounds/<slug:slug>/proposals/", proposal_views.round_proposals, name="round_proposals"),
    path(
        "rounds/<slug:slug>/proposals.csv",
        proposal_views.round_proposals_csv,
        name="round_proposals_csv",
    ),
    path("rounds/<slug:slug>/proposals/new/", proposal_views.proposal_new, name="proposal_new"),
    path("proposals/<int:pk>/", proposal_views.proposal_detail, name="proposal_detail"),
    path("proposals/<int:pk>/edit/", proposal_views.proposal_edit, name="proposal_edit"),
    path(
        "proposals/<int:pk>/withdraw/", proposal_views.proposal_withdraw, name="proposal_withdraw"
    ),
    path(
        "proposals/<int:pk>/coauthors/",
        coauthor_views.proposal_coauthors,
        name="proposal_coauthors",
    ),
    path("coauthors/<int:pk>/remove/", coauthor_views.coauthor_remove, name="coauthor_remove"),
    path(
        "invitations/<str:token>/",
        coauthor_views.coauthor_invitation,
        name="coauthor_invitation",
    ),
    path(
        "proposals/<int:pk>/versions/<int:number>/",
        coauthor_views.proposal_version,
        name="proposal_version",
    ),
    path("proposals/<int:pk>/review/", proposal_views.proposal_review, name="proposal_review"),
    path("proposals/<int:pk>/support/", proposal_views.proposal_support, name="proposal_support"),
    path("codesign/<int:pk>/answer/", proposal_views.codesign_answer, name="codesign_answer"),
    path("merges/<int:pk>/answer/", merge_views.merge_answer, name="merge_answer"),
    path("proposals/<int:pk>/amend/", amendment_views.amendment_new, name="amendment_new"),
    path("amendments/<int:pk>/", amendment_views.amendment_detail, name="amendment_detail"),
    path("amendments/<int:pk>/answer/", amendment_views.amendment_answer, name="amendment_answer"),
    path(
        "amendments/<int:pk>/withdraw/",
        amendment_views.amendment_withdraw,
        name="amendment_withdraw",
    ),
    path("comments/<int:pk>/hide/", proposal_views.comment_hide, name="comment_hide"),
    path("comments/<int:pk>/flag/", proposal_views.comment_flag, name="comment_flag"),
    path("my/proposals/", proposal_views.my_proposals, name="my_proposals"),
    path(
        "officer/comments/reported/",
        proposal_views.officer_flagged_comments,
        name="officer_flagged_comments",
    ),
    path(
        "officer/rounds/<slug:slug>/categories/",
        proposal_views.officer_categories,
        name="officer_categories",
    ),
    path("accounts/profile/", views.my_account, name="my_account"),
    path("rounds/<slug:slug>/priorities/", priority_views.priorities, name="priorities"),
    path(
        "rounds/<slug:slug>/priorities/<slug:area_slug>/",
        priority_views.priorities_results,
        name="priorities_results",
    ),
    path(
        "rounds/<slug:slug>/priorities/<slug:area_slug>/respond/",
        priority_views.priorities_respond,
        name="priorities_respond",
    ),
    path(
        "rounds/<slug:slug>/priorities/<slug:area_slug>/priorities.csv",
        priority_views.priorities_csv,
        name="priorities_csv",
    ),
    path(
        "officer/rounds/<slug:slug>/priorities/",
        priority_views.officer_priorities,
        name="officer_priorities",
    ),
    path(
        "officer/rounds/<slug:slug>/priorities/<slug:area_slug>/paper/",
        priority_views.officer_priorities_paper,
        name="officer_priorities_paper",
    ),
    path(
        "officer/rounds/<slug:slug>/priorities/<slug:area_slug>/statement/",
        priority_views.officer_priorities_statement,
        name="officer_priorities_statement",
    ),
]
