"""Webhooks end to end with real processes: gunicorn serving the API and the dashboard, the
`deliverwebhooks` worker, and a receiver that verifies every signature with the
`standardwebhooks` library using the secret the create response returned."""

import os
import signal
import subprocess
import time
from contextlib import contextmanager

import httpx
from cryptography.fernet import Fernet

from tests.webhooks_app.receiver import Receiver

from .servers import BIN, PROJECT, gunicorn, manage, served_database, server_env

DEMO_OPERATOR = ("demo", "demo-password")


@contextmanager
def worker(env: dict, log):
    process = subprocess.Popen(
        [str(BIN / "python"), "manage.py", "deliverwebhooks"],
        cwd=PROJECT,
        env=env,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def live_site(tmp_path, **extra):
    with served_database(tmp_path) as database_url:
        env = server_env(
            database_url,
            API_RATE_LIMIT="off",
            WEBHOOK_ALLOW_INSECURE="1",
            CREDENTIALS_KEY=Fernet.generate_key().decode(),
            **extra,
        )
        manage(env, "migrate", "--no-input", "-v0")
        # The dashboard's pages, with production settings, need the static files' manifest.
        manage(env, "collectstatic", "--no-input", "-v0")
        token = manage(env, "seeddemo").strip().splitlines()[-1]
        with gunicorn(env, workers=2, log=tmp_path / "gunicorn.log") as base:
            api = httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)
            yield env, base, api


def signed_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    assert client.get("/login/").status_code == 200
    response = client.post(
        "/login/",
        data={
            "username": DEMO_OPERATOR[0],
            "password": DEMO_OPERATOR[1],
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
    )
    assert response.status_code == 302, response.text
    return client


def test_changes_through_the_api_the_dashboard_and_an_import_arrive_signed(tmp_path):
    with live_site(tmp_path) as (env, base, api), Receiver() as receiver:
        created = api.post("/webhooks", json={"url": receiver.url, "events": []})
        assert created.status_code == 201, created.text
        receiver.secrets.append(created.json()["secret"])
        with worker(env, tmp_path / "worker.log"):
            # Through the API.
            number = api.post("/numbers", json={"number": "+14155550101"}).json()
            # Through the dashboard.
            dashboard = signed_in(base)
            response = dashboard.post(
                f"/numbers/{number['id']}/deactivate/", data={"csrfmiddlewaretoken": dashboard.cookies["csrftoken"]}
            )
            assert response.status_code == 302, response.text
            # Through an import.
            csv_file = tmp_path / "numbers.csv"
            csv_file.write_text("number,provider,voice_agent,text_agent,trunk,status\n+14155550102,manual,,,,active\n")
            manage(env, "importnumbers", str(csv_file), "--account", "Demo", "--apply")
            received = receiver.wait_for(3, timeout=30)
            time.sleep(0.5)
        assert receiver.unverified == []
        assert len(receiver.received) == 3  # exactly these
        bodies = sorted((r.json for r in received), key=lambda body: body["data"]["event"]["id"])
        assert [(b["type"], b["data"]["event"]["channel"], b["data"]["event"]["number"]) for b in bodies] == [
            ("number.created", "api", "+14155550101"),
            ("number.deactivated", "dashboard", "+14155550101"),
            ("number.created", "import", "+14155550102"),
        ]
        assert bodies[0]["data"]["number"] == {**number, "updated_at": bodies[0]["data"]["number"]["updated_at"]}
        assert bodies[1]["data"]["number"]["status"] == "inactive"
        assert bodies[1]["data"]["event"]["actor_name"] == DEMO_OPERATOR[0]
        assert bodies[2]["data"]["number"]["number"] == "+14155550102"
        deliveries = api.get(f"/webhooks/{created.json()['id']}/deliveries").json()
        assert [d["status"] for d in deliveries["data"]] == ["delivered"] * 3
        assert {d["message_id"] for d in deliveries["data"]} == {r.message_id for r in received}
        # The dashboard page shows the endpoint and its log.
        page = dashboard.get(f"/webhooks/{created.json()['id']}/")
        assert page.status_code == 200
        for r in received:
            assert r.message_id in page.text


def test_a_worker_killed_mid_delivery_is_followed_by_a_delivery_with_the_same_id(tmp_path):
    with live_site(tmp_path, WEBHOOK_TIMEOUT="2") as (env, base, api), Receiver(delay=30) as receiver:
        created = api.post("/webhooks", json={"url": receiver.url})
        receiver.secrets.append(created.json()["secret"])
        api.post("/numbers", json={"number": "+14155550103"})
        with worker(env, tmp_path / "worker-1.log") as first:
            [held] = receiver.wait_for(1, timeout=20)  # arrived; its answer is being held
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        with worker(env, tmp_path / "worker-2.log"):
            # The lease (2 × timeout + 10 s) runs out, then the message goes again.
            second = receiver.wait_for(2, timeout=40)[1]
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                deliveries = api.get(f"/webhooks/{created.json()['id']}/deliveries").json()["data"]
                if deliveries[0]["status"] == "delivered":
                    break
                time.sleep(0.2)
        assert second.message_id == held.message_id
        assert second.verified_by == held.verified_by == [created.json()["secret"]]
        assert [(d["status"], d["message_id"]) for d in deliveries] == [("delivered", held.message_id)]


def test_the_task_queued_with_the_change_delivers_it_through_the_queues_worker(tmp_path):
    """The change's transaction queued `deliver_webhooks`; django-tasks-db's own worker runs
    it (`db_worker --batch`: until the queue is empty)."""
    with live_site(tmp_path) as (env, base, api), Receiver() as receiver:
        created = api.post("/webhooks", json={"url": receiver.url})
        receiver.secrets.append(created.json()["secret"])
        api.post("/numbers", json={"number": "+14155550104"})
        manage(env, "db_worker", "--batch")
        [received] = receiver.wait_for(1, timeout=10)
        assert received.json["type"] == "number.created"
        assert received.verified_by == [created.json()["secret"]]
