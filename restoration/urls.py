"""Pages of the restoration workflow (mounted at the site root by portal/urls.py)."""

from django.urls import path

from restoration import views, views_bulk, views_review

app_name = "restoration"

urlpatterns = [
    path("jobs/", views.job_list, name="job_list"),
    path("jobs/queue/", views.queue_view, name="queue"),
    path("jobs/progress.json", views.job_progress_json, name="job_progress"),
    path("jobs/new/bulk/", views_bulk.bulk_restore, name="bulk_restore"),
    path("jobs/new/<int:capture_id>/", views.job_create, name="job_create"),
    path("jobs/<int:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<int:job_id>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<int:job_id>/retry/", views.job_retry, name="job_retry"),
    path("review/", views.review_list, name="review_list"),
    path("versions/<int:version_id>/", views.version_detail, name="version_detail"),
    path("versions/<int:version_id>/decide/", views.version_decide, name="version_decide"),
    path("versions/<int:version_id>/publish/", views.version_publish, name="version_publish"),
    path("versions/<int:version_id>/access.mp4", views.version_access, name="version_access"),
    path("versions/<int:version_id>/master.mkv", views.version_master, name="version_master"),
    path("versions/<int:version_id>/scores.json", views.version_scores, name="version_scores"),
    path(
        "versions/<int:version_id>/provenance.json",
        views.version_provenance_json,
        name="version_provenance",
    ),
    path(
        "versions/<int:version_id>/frames/<int:frame>/<str:which>.jpg",
        views.version_thumbnail,
        name="version_thumbnail",
    ),
    path(
        "versions/<int:version_id>/comments.json",
        views_review.version_comments,
        name="version_comments",
    ),
    path(
        "versions/<int:version_id>/original/<int:frame>.png",
        views_review.version_original,
        name="version_original",
    ),
    path(
        "versions/<int:version_id>/compare/<int:other_id>/",
        views_review.version_compare,
        name="version_compare",
    ),
    path("tapes/<int:tape_id>/unpublish/", views.tape_unpublish, name="tape_unpublish"),
    path("public/tapes/<int:tape_id>/", views.public_tape, name="public_tape"),
    path("public/tapes/<int:tape_id>/video.mp4", views.public_tape_video, name="public_tape_video"),
    path(
        "iiif/tapes/<int:tape_id>/manifest.json",
        views.public_tape_manifest,
        name="public_tape_manifest",
    ),
]
