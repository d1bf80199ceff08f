"""Settings of the archive portal: one module, driven by environment variables.

Defaults give a working single-machine install: SQLite, django-q2's ORM broker, media on the
local disk. Production sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL and,
optionally, S3 storage (see README, "Production deployment").
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from portal.env import envbool, envchoice, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = envbool("DEBUG", True)
_DEV_SECRET = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
SECRET_KEY = envstr("SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
if not DEBUG and SECRET_KEY == _DEV_SECRET:
    raise ImproperlyConfigured("SECRET_KEY is the development key; set a long random one")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
if not DEBUG and "ALLOWED_HOSTS" not in os.environ:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off (comma-separated)")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

# HTTPS hardening, on whenever DEBUG is off; each can be overridden, e.g. SECURE_SSL_REDIRECT=0
# when the TLS proxy in front already redirects, or SECURE_HSTS_SECONDS=300 while trying HTTPS.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", not DEBUG)
# Behind a reverse proxy that terminates TLS and sets X-Forwarded-Proto (only then!).
if envbool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "accounts",
    "portal.api",
    "portal.webhooks",
    "portal.catalog",
    "portal.captures",
    "portal.audit",
    "portal.uploads",
    "portal.preservation",
    "restoration",
    # Project-wide template filters (portal/templatetags): they read every app's choices.
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy and Permissions-Policy (Django 5.2 sets neither).
    "portal.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
        },
    },
]

if "DATABASE_URL" not in os.environ:
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the default SQLite file lives there
DATABASES = {
    "default": dj_database_url.parse(
        envstr("DATABASE_URL", f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
        conn_max_age=envint("DB_CONN_MAX_AGE", 0, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    _sqlite = DATABASES["default"].setdefault("OPTIONS", {})
    # Writers take the lock when their transaction begins, so two concurrent audited changes
    # queue up instead of both reading the same audit-chain head (portal.audit.chain).
    _sqlite["transaction_mode"] = "IMMEDIATE"
    # Write-ahead log: page reads never block a write's commit nor the other way round. In the
    # default rollback journal a commit waits for every reader to finish, and under load (50
    # browsing users, gunicorn threads) writes failed with "database is locked" after 5 s.
    # WAL needs a local disk (never a network share), as SQLite itself does.
    _sqlite["init_command"] = "PRAGMA journal_mode=WAL;"
    # Seconds a write waits for another write's commit before "database is locked".
    _sqlite["timeout"] = envint("SQLITE_BUSY_TIMEOUT", 20, minimum=1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Key of the audit hash chain (HMAC); default derived from SECRET_KEY. Set it explicitly (and
# keep it) before ever rotating SECRET_KEY, or old events no longer verify.
AUDIT_CHAIN_KEY = envstr("AUDIT_CHAIN_KEY", "")

# Argon2id first (accounts/hashers.py explains the parameters); PBKDF2 hashes made before still
# verify and are upgraded at the next log-in.
PASSWORD_HASHERS = [
    "accounts.hashers.OwaspArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(VAR_DIR / "media")))
# No MEDIA_URL route is ever mounted: media is served by permission-checked views only.
MEDIA_URL = "/media-not-public/"

REDIS_URL = envstr("REDIS_URL", "")

# Cache of login lockouts, API rate counters and cached fragments: shared by every web process.
# Redis when REDIS_URL is set; else a database table (created by a migration of accounts), as a
# per-process memory cache would give each gunicorn worker its own lockout counters.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "portal-cache",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portal_cache",
            "OPTIONS": {"MAX_ENTRIES": 50_000},
        }
    }
# Login lockout (accounts.throttling): window (seconds, also the longest lockout) and how many
# failures lock one name from one address, one name from anywhere, one address for any names.
LOGIN_LOCKOUT_WINDOW_S = envint("LOGIN_LOCKOUT_WINDOW_S", 900, minimum=10)
LOGIN_MAX_FAILURES_PER_PAIR = envint("LOGIN_MAX_FAILURES_PER_PAIR", 5, minimum=1)
LOGIN_MAX_FAILURES_PER_NAME = envint("LOGIN_MAX_FAILURES_PER_NAME", 20, minimum=1)
LOGIN_MAX_FAILURES_PER_ADDRESS = envint("LOGIN_MAX_FAILURES_PER_ADDRESS", 30, minimum=1)
# API rates (portal.api.throttling): per token (or session user), and per anonymous address.
API_RATE_PER_CLIENT = envstr("API_RATE_PER_CLIENT", "1200/min")
API_RATE_ANONYMOUS = envstr("API_RATE_ANONYMOUS", "60/min")

# --- Captures, storage, uploads, task queue and REST API (portal.captures / portal.api) ---

# Uploads never sit in memory: one handler streams every file to a temporary file on disk and
# hashes it (SHA-256) chunk by chunk as it arrives.
FILE_UPLOAD_HANDLERS = ["portal.captures.uploadhandler.HashingFileUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
# Next to MEDIA_ROOT by default, so saving a finished upload into local storage is a rename.
FILE_UPLOAD_TEMP_DIR = envstr("FILE_UPLOAD_TEMP_DIR", str(VAR_DIR / "upload-tmp"))
# Django's check (files.E001) wants it to exist; a read-only install sets it to a writable path.
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
FILE_UPLOAD_PERMISSIONS = 0o640
# Largest capture accepted, in bytes (default 200 GiB); bigger uploads get a clear 413 error.
CAPTURE_MAX_UPLOAD_SIZE = envint("CAPTURE_MAX_UPLOAD_SIZE", 200 * 1024**3, minimum=1)
# Largest frame and highest frame rate accepted (portal.captures.validation): 4K film scans fit;
# an 8192x8192 "capture" or a header claiming 1,000,000 fps is refused before decoding.
CAPTURE_MAX_WIDTH = envint("CAPTURE_MAX_WIDTH", 4096, minimum=16)
CAPTURE_MAX_HEIGHT = envint("CAPTURE_MAX_HEIGHT", 4096, minimum=16)
CAPTURE_MAX_FRAME_RATE = envint("CAPTURE_MAX_FRAME_RATE", 120, minimum=1)

# Resumable (tus) uploads: partial files live here until the last byte arrives. With several
# web machines this must be one shared folder (or route an upload's requests to one machine).
UPLOAD_PARTIAL_DIR = Path(envstr("UPLOAD_PARTIAL_DIR", str(VAR_DIR / "uploads-partial")))
# An upload with no new bytes for this long is abandoned: the cleanup schedule deletes it.
UPLOAD_EXPIRY_SECONDS = envint("UPLOAD_EXPIRY_SECONDS", 24 * 3600, minimum=60)
# Files up to this size become a capture inside the request that sends the last byte; bigger
# ones on the default queue (probing and storing 100 GB takes minutes).
# Bytes per PATCH request the browser sends (a retry resends at most one chunk; proxies with a
# request size limit need it below that limit).
UPLOAD_CHUNK_SIZE = envint("UPLOAD_CHUNK_SIZE", 32 * 1024**2, minimum=64 * 1024)
UPLOAD_INLINE_FINALIZE_BYTES = envint("UPLOAD_INLINE_FINALIZE_BYTES", 256 * 1024**2, minimum=0)

# Fixity (portal.preservation.fixity): a schedule re-reads originals and masters and checks
# their SHA-256. Files are re-checked when their last check is older than FIXITY_RECHECK_DAYS,
# each run reads at most FIXITY_BYTES_PER_RUN at FIXITY_READ_RATE bytes/s (0 = unlimited).
FIXITY_RECHECK_DAYS = envint("FIXITY_RECHECK_DAYS", 90, minimum=0)
FIXITY_BYTES_PER_RUN = envint("FIXITY_BYTES_PER_RUN", 50 * 1024**3, minimum=1)
FIXITY_READ_RATE = envint("FIXITY_READ_RATE", 100 * 1024**2, minimum=0)
# BagIt packages are assembled here (needs room for a tape's originals and masters).
PACKAGE_WORK_DIR = Path(envstr("PACKAGE_WORK_DIR", str(VAR_DIR / "packages-work")))

# Local disk by default; S3-compatible object storage when a bucket is configured. Objects stay
# private either way: media is only ever served through permission-checked views.
AWS_STORAGE_BUCKET_NAME = envstr("AWS_STORAGE_BUCKET_NAME", "")
if AWS_STORAGE_BUCKET_NAME:
    from boto3.s3.transfer import TransferConfig

    _media_storage: dict = {
        "BACKEND": "portal.storage.ArchiveS3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            # Address the web and worker machines use (e.g. an internal http://minio:9000).
            "endpoint_url": envstr("AWS_S3_ENDPOINT_URL", "") or None,
            # Address browsers follow signed URLs to, when it differs from the internal one.
            "public_endpoint_url": envstr("AWS_S3_PUBLIC_ENDPOINT_URL", "") or None,
            "region_name": envstr("AWS_S3_REGION_NAME", "") or None,
            # SigV4 by default: buckets created since mid-2020 refuse the older SigV2 URLs.
            "signature_version": envstr("AWS_S3_SIGNATURE_VERSION", "s3v4"),
            # "path" for most self-hosted S3 servers (MinIO, Ceph), "virtual" for AWS.
            "addressing_style": envstr("AWS_S3_ADDRESSING_STYLE", "") or None,
            "default_acl": None,  # bucket policy decides; never public-read
            "querystring_auth": True,
            "file_overwrite": False,
            # Any S3File opened by storage.open() spills to disk past 8 MiB (never a whole
            # object in memory; portal.storage streams without it anyway).
            "max_memory_size": 8 * 1024**2,
            # Multipart uploads: 8 MiB parts, at most 4 in flight (bounded memory per process).
            "transfer_config": TransferConfig(
                multipart_chunksize=8 * 1024**2,
                max_concurrency=envint("AWS_S3_UPLOAD_CONCURRENCY", 4, minimum=1),
            ),
        },
    }
else:
    _media_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    }
# Lifetime of the signed URL a permission-checked media view redirects to on S3.
MEDIA_SIGNED_URL_SECONDS = envint("MEDIA_SIGNED_URL_SECONDS", 300, minimum=10)
STORAGES = {
    "default": _media_storage,
    # Hashed, compressed files need `collectstatic` (production); development and tests serve
    # the files from static/ as they are.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# django-q2. Every cluster shares `name` (it salts the signed ORM payloads); a worker machine
# picks its queue with the env variable Q_CLUSTER_NAME, which django-q2 looks up in ALT_CLUSTERS
# (restoration workers add their own entry there).
_Q_TIMEOUT = envint("Q_TIMEOUT", 6 * 3600, minimum=60)
Q_CLUSTER = {
    # Site-wide prefix shared by all clusters (signing salt, Redis key prefix).
    "name": "portal",
    # Queue this process serves unless Q_CLUSTER_NAME selects an entry of ALT_CLUSTERS.
    "cluster_name": "portal",
    # Per-queue overrides (workers, timeout, retry) selected by Q_CLUSTER_NAME.
    "ALT_CLUSTERS": {},
    # Worker processes; proxies are CPU-bound and ffmpeg already uses several threads.
    "workers": envint("Q_WORKERS", 1, minimum=1),
    # A task running longer than this is killed (a long tape's proxy takes a while).
    "timeout": _Q_TIMEOUT,
    # Seconds before an unacknowledged task is handed out again: must exceed `timeout`.
    "retry": _Q_TIMEOUT + 600,
    # Tries per task; proxy failures are mostly permanent, one retry covers a lost worker.
    "max_attempts": 2,
    # Failed tasks are acknowledged so they are not redelivered after `retry`.
    "ack_failures": True,
    # Keep the last successful task results for the admin.
    "save_limit": 250,
    # Recycle a worker after this many tasks to give back memory held by decoders.
    "recycle": 50,
    # Run tasks inline in the caller (tests, debugging) instead of queueing them.
    "sync": envbool("Q_SYNC", False),
    # Seconds between polls of the ORM broker for new tasks.
    "poll": 1,
    # Label of the django-q2 section in the admin.
    "label": "Task queue",
    # Use Redis as the broker when REDIS_URL is set, else the database (no extra service).
    **({"redis": REDIS_URL} if REDIS_URL else {"orm": "default"}),
}

# --- Restoration workers (restoration app; README "Restoration workflow and workers") ---
# GPU/CPU worker machines run `Q_CLUSTER_NAME=restoration python manage.py qcluster`; the web
# machine enqueues restoration tasks on that queue and runs the default queue itself.
RESTORATION_QUEUE = envstr("RESTORATION_QUEUE", "restoration")
# Longest restoration a worker may run before django-q2 kills it (then the reaper fails the job).
RESTORATION_TASK_TIMEOUT = envint("RESTORATION_TASK_TIMEOUT", 24 * 3600, minimum=60)
Q_CLUSTER["ALT_CLUSTERS"][RESTORATION_QUEUE] = {
    # One worker process per GPU (or per CPU machine): the engine uses the whole device.
    "workers": envint("RESTORATION_WORKERS", 1, minimum=1),
    # Kill a restoration running longer than this.
    "timeout": RESTORATION_TASK_TIMEOUT,
    # Redeliver an unacknowledged task only after `timeout`, never while it may still run.
    "retry": RESTORATION_TASK_TIMEOUT + 600,
    # One attempt: a job lost with its worker is failed by the reaper and retried by a person.
    "max_attempts": 1,
    # Prefetch at most one task per machine so idle machines get the next jobs.
    "queue_limit": 1,
    # Fresh worker process every few jobs: gives back GPU and decoder memory.
    "recycle": 5,
    # Worker processes start the engine's window worker processes, which a daemonic process
    # may not do (multiprocessing refuses: every SD job failed before this was set).
    "daemonize_workers": False,
}
# Defaults of a job's options (restoration.parameters).
RESTORATION_DEFAULT_MODEL = envstr("RESTORATION_DEFAULT_MODEL", "tape-lite")
RESTORATION_DEFAULT_SCORER = envstr("RESTORATION_DEFAULT_SCORER", "offline")
# Folder of checkpoints named <variant>.safetensors + <variant>.json (e.g. tape-base weights on
# GPU workers); a variant missing there uses the weights shipped in restoration/engine/weights/.
RESTORATION_CHECKPOINT_DIR = envstr("RESTORATION_CHECKPOINT_DIR", "")
# "auto" (every CUDA GPU, else mps, else cpu), e.g. "cuda:1", "cpu", or a list such as
# "cuda:0,cuda:1" (one job spread over both) or "cuda:0,cuda:0" (two windows at once on one GPU).
RESTORATION_DEVICE = envstr("RESTORATION_DEVICE", "auto")
# CPU cores one job may use (0 = every core this worker may run on): one window worker process
# per core, one thread each. Lower it when a machine runs several restoration workers.
RESTORATION_CORES = envint("RESTORATION_CORES", 0, minimum=0)
# Network precision: auto (bf16 where the CPU/GPU computes it natively, else fp32 on CPUs),
# fp32, bf16 or fp16 (GPUs). Recorded in each version's provenance.
RESTORATION_PRECISION = envchoice("RESTORATION_PRECISION", "auto", ("auto", "fp32", "bf16", "fp16"))
# Windows per network pass on GPUs (0 = the engine's default, 4).
RESTORATION_GPU_BATCH = envint("RESTORATION_GPU_BATCH", 0, minimum=0)
# Spatial tile of the engine in pixels (0 = engine default).
RESTORATION_TILE = envint("RESTORATION_TILE", 0, minimum=0)
# A restoration cluster's worker process keeps its window worker processes (model loaded) from
# one job to the next; they stop with it (stop, recycle) or when a job fails or is cancelled.
RESTORATION_KEEP_WORKERS = envbool("RESTORATION_KEEP_WORKERS", True)
# A new restoration worker process restores a short synthetic SD clip before its first job, so
# that one-time costs (model, torch kernels, codecs: ~200 MB, a few seconds) are not a job's.
RESTORATION_WARM_UP = envbool("RESTORATION_WARM_UP", True)
# Worker-local scratch space for decoding and encoding (never shared between machines).
RESTORATION_WORK_DIR = Path(envstr("RESTORATION_WORK_DIR", str(VAR_DIR / "restoration-work")))
# Name shown for this worker in the queue page (default: the host name).
RESTORATION_WORKER_NAME = envstr("RESTORATION_WORKER_NAME", "")
# Seconds between progress/heartbeat writes of a running job (and cancel checks).
RESTORATION_PROGRESS_INTERVAL = envint("RESTORATION_PROGRESS_INTERVAL_MS", 1000, minimum=0) / 1000
# Seconds between heartbeats of a running job (a worker thread, independent of progress).
RESTORATION_HEARTBEAT_INTERVAL = envint("RESTORATION_HEARTBEAT_INTERVAL", 10, minimum=1)
# A running job without a heartbeat for this many seconds (3 missed beats) is failed by the
# reaper, which runs every minute: a dead worker's job leaves "running" within about 90 s.
RESTORATION_STALE_AFTER = envint(
    "RESTORATION_STALE_AFTER", 3 * RESTORATION_HEARTBEAT_INTERVAL, minimum=3
)
# The reaper re-sends a wake-up task when jobs have been queued this long and nothing runs.
RESTORATION_REQUEUE_AFTER = envint("RESTORATION_REQUEUE_AFTER", 600, minimum=10)
# Workers with a heartbeat in this window are listed on the queue page.
RESTORATION_WORKER_SEEN_WINDOW = envint("RESTORATION_WORKER_SEEN_WINDOW", 3600, minimum=60)
# Webhook deliveries: attempts and HTTP timeout (seconds).
RESTORATION_WEBHOOK_ATTEMPTS = envint("RESTORATION_WEBHOOK_ATTEMPTS", 5, minimum=1)
RESTORATION_WEBHOOK_TIMEOUT = envint("RESTORATION_WEBHOOK_TIMEOUT", 10, minimum=1)
# Worker news (ready after the warm-up, jobs failed or stopped) on stderr, where service
# managers collect it; Python's default shows warnings only.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "restoration": {
            "handlers": ["stderr"],
            "level": envchoice("RESTORATION_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING")),
        }
    },
}

# API: expiry (days) of a token made by POST /api/v1/auth/token/ (0: never expires); whether
# PUT/PATCH/DELETE of one object must carry If-Match (428 without); how long an
# Idempotency-Key's first answer is replayed.
API_TOKEN_DEFAULT_DAYS = envint("API_TOKEN_DEFAULT_DAYS", 90, minimum=0)
API_REQUIRE_IF_MATCH = envbool("API_REQUIRE_IF_MATCH", False)
API_IDEMPOTENCY_HOURS = envint("API_IDEMPOTENCY_HOURS", 24, minimum=1)

# OAI-PMH provider (/oai/): name, identifier namespace (oai:<this>:tape:<id>), contact, and
# records per page before a resumption token.
OAI_REPOSITORY_NAME = envstr("OAI_REPOSITORY_NAME", "Tape archive portal")
OAI_REPOSITORY_IDENTIFIER = envstr("OAI_REPOSITORY_IDENTIFIER", "tape-archive.example.org")
OAI_ADMIN_EMAIL = envstr("OAI_ADMIN_EMAIL", "archive@example.org")
OAI_PAGE_SIZE = envint("OAI_PAGE_SIZE", 100, minimum=1)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.api.permissions.TokenScopeAllows"],
    # Request bodies are JSON unless a view says otherwise (uploads: multipart; bulk: CSV too).
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # Unknown query parameters and ordering fields answer 400 (portal/api/filtering.py).
    "DEFAULT_FILTER_BACKENDS": [
        "portal.api.filtering.KnownParametersFilter",
        "django_filters.rest_framework.DjangoFilterBackend",
        "portal.api.filtering.StrictSearchFilter",
        "portal.api.filtering.StrictOrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "portal.api.throttling.ApiClientThrottle",
        "portal.api.throttling.AnonymousApiThrottle",
    ],
    # "format" is the web catalog's filter name for the carrier format, not a renderer switch.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "portal.api.schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exceptions.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tape archive portal API",
    "DESCRIPTION": "Collections, tapes, captures, restoration jobs, restored versions (review, "
    "publication, provenance) and the audit history of your institution. Authenticate with "
    "`Authorization: Bearer <token>` (tokens: /account/tokens/ or `/api/v1/tokens/`) or a "
    'browser session. Errors always have the shape `{"error": {"code", "message", '
    '"details"}}`.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Tags (and generated clients' modules) per resource: "tapes", "captures"... not "v1".
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # Swagger UI / Redoc assets are served from the drf-spectacular-sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # tus upload endpoints are plain Django views, documented by hand (portal/uploads/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.uploads.schema.add_tus_paths",
    ],
}
