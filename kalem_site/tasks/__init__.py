"""The background work: a task queue on the database (Django's Tasks API through the
`django-tasks` backport and the `django-tasks-db` backend), our `worker` command around its
worker (it survives the database going away, reports a heartbeat and enqueues the periodic
tasks), and the periodic tasks of the site itself. Core code: no HTTP."""
