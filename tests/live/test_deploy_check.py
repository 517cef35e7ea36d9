"""Production settings pass Django's deployment checklist, warnings included."""

import secrets
import subprocess

from .servers import BIN, PROJECT, server_env

PRODUCTION = {
    "DEBUG": "0",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_COOKIES": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_PROXY_SSL_HEADER": "1",
    "ALLOWED_HOSTS": "numbers.example.com",
}


def check_deploy(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "python"), "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT,
        env=server_env("sqlite:///:memory:", **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_passes_with_production_settings():
    result = check_deploy(**PRODUCTION, SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_without_the_https_settings():
    # The test above is not vacuous: leaving HTTPS hardening off is reported.
    result = check_deploy(DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout


def test_a_missing_secret_key_stops_production_start_up():
    env = {**PRODUCTION, "SECRET_KEY": ""}
    result = check_deploy(**env)
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr
