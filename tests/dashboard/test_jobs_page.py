"""/jobs/: the account's running and recent background jobs, with state and progress."""

from numbers_app.models import ImportJob, TwilioSyncJob
from tests.helpers import assert_login_redirect, html


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    assert_login_redirect(client.get("/jobs/"), "/jobs/")


def test_it_lists_the_accounts_imports_and_syncs_newest_first(client, owner, account):
    done = ImportJob.objects.create(
        account=account, created_by=owner, filename="done.csv", state="imported", total_rows=5, processed_rows=5
    )
    running = ImportJob.objects.create(
        account=account, filename="big.csv", state="importing", total_rows=5000, processed_rows=2000, attempts=1
    )
    sync = TwilioSyncJob.objects.create(account=account, created_by=owner, state="running", listed=1000)
    client.force_login(owner)

    response = client.get("/jobs/")

    assert response.status_code == 200
    body = html(response)
    assert body.index(f'data-job="twilio-{sync.pk}"') < body.index(f'data-job="import-{running.pk}"')
    assert body.index(f'data-job="import-{running.pk}"') < body.index(f'data-job="import-{done.pk}"')
    assert f'<a href="/numbers/import/{running.pk}/">big.csv</a>' in body
    assert '<progress max="5000" value="2000">40%</progress> 2,000 of 5,000 rows' in body
    assert "Import running (resumed)" in body
    assert f'<a href="/numbers/twilio/sync/{sync.pk}/">Sync from Twilio</a>' in body
    assert "1,000 listed" in body
    assert '<meta http-equiv="refresh" content="5">' in body
    assert "No worker is running" in body


def test_an_outsider_sees_none_of_them(client, outsider, account):
    ImportJob.objects.create(account=account, filename="secret.csv", state="importing")
    TwilioSyncJob.objects.create(account=account, state="queued")
    client.force_login(outsider)

    response = client.get("/jobs/")

    assert response.status_code == 200
    body = html(response)
    assert "secret.csv" not in body and "Sync from Twilio</a>" not in body
    assert "No jobs yet." in body
    assert "No worker is running" not in body
