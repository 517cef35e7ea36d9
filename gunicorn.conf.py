"""gunicorn settings for `make run` and production. Override any of them with GUNICORN_CMD_ARGS."""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
# The usual 2×cores+1 sync workers: requests are short and spend their time in the database.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = 30
graceful_timeout = 10
# Recycle workers now and then so a slow leak can never grow without bound.
max_requests = 10000
max_requests_jitter = 1000
# The longest request line gunicorn allows short of no limit (as nginx's default 8k buffers):
# long filter URLs fit; anything longer is refused by gunicorn before Django sees it.
limit_request_line = 8190
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
