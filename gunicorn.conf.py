"""gunicorn settings of the portal: `gunicorn -c gunicorn.conf.py portal.wsgi:application`.

Uploads must not block other requests: a tus PATCH of a multi-GB capture holds its thread for
as long as the client sends, so workers are threaded (gthread). Each thread blocked on a slow
client costs a few MB, never a whole process; catalog and API requests take the other threads.
Memory per request is bounded (1 MiB reads, streamed media), so threads are cheap.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
# Processes: CPU-bound page rendering spreads over cores; threads absorb slow clients.
workers = int(os.environ.get("GUNICORN_WORKERS", str(min(4, multiprocessing.cpu_count()))))
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
# A PATCH of a 32 MiB chunk over a slow line can take minutes; the request is alive, not hung.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "600"))
graceful_timeout = 60
keepalive = 5
# Recycle a worker now and then (decoder libraries hold on to freed memory).
max_requests = 2000
max_requests_jitter = 200
