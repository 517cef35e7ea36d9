"""gunicorn settings for `make run` and production. Override any of them with GUNICORN_CMD_ARGS."""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
# Threaded workers (kalem_site/gunicorn_worker.py): each worker's event loop reads request
# heads and bodies itself, so slow clients hold sockets, not the threads; WEB_THREADS threads per worker
# serve complete requests. Requests are short and spend their time in the database.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "kalem_site.gunicorn_worker.ThreadWorker"
threads = int(os.environ.get("WEB_THREADS", "4"))
# With threads, `timeout` is how long the worker's loop may stall before the arbiter replaces
# it (never a single request), and how long a thread waits for each read or write of a client.
# Requests themselves are bounded by the database's and Redis's timeouts (settings.py).
timeout = 30
graceful_timeout = 10
keepalive = 5
# Recycle workers now and then so a slow leak can never grow without bound.
max_requests = 10000
max_requests_jitter = 1000
# The longest request line gunicorn allows short of no limit (as nginx's default 8k buffers):
# long filter URLs fit; anything longer is refused by gunicorn before Django sees it.
limit_request_line = 8190
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
