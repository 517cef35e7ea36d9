"""Schemathesis against a live gunicorn server of the project: every operation of the
OpenAPI schema, every check on (see schemathesis.toml), at least 100 examples per
operation, and the stateful phase following the schema's links. Zero failures allowed."""

import os
import subprocess

from .servers import BIN, PROJECT, gunicorn, manage, served_database, server_env

EXAMPLES_PER_OPERATION = 100
# A fixed seed keeps CI reproducible (a failure can be replayed exactly); FUZZ_SEED=random
# explores new inputs, e.g. `FUZZ_SEED=random make test PYTEST_ARGS=tests/live/test_fuzz.py`.
SEED = os.environ.get("FUZZ_SEED", "20261126")


def test_the_fuzzer_finds_no_failure(tmp_path):
    with served_database(tmp_path) as database_url:
        # Rate limits off: the fuzzer should reach the endpoints, not the limiter (which has
        # its own tests).
        env = server_env(database_url, API_RATE_LIMIT="off")
        manage(env, "migrate", "--no-input", "-v0")
        token = manage(env, "seeddemo").strip().splitlines()[-1]
        with gunicorn(env, workers=3, log=tmp_path / "gunicorn.log") as base:
            result = subprocess.run(
                [
                    str(BIN / "st"),
                    "run",
                    f"{base}/api/v1/schema",
                    "--max-examples",
                    str(EXAMPLES_PER_OPERATION),
                    *([] if SEED == "random" else ["--seed", SEED]),
                    "--phases",
                    "examples,coverage,fuzzing,stateful",
                    # One worker: hypothesis' lambda descriptions call ast.parse, which CPython
                    # 3.11 can fail on when two threads do it at once (AST recursion mismatch).
                    "--workers",
                    "1",
                    "--no-color",
                    "--report",
                    "junit",
                    "--report-junit-path",
                    str(tmp_path / "fuzz.xml"),
                ],
                cwd=PROJECT,
                env={
                    **os.environ,
                    "KALEM_API_TOKEN": token,  # read by schemathesis.toml's bearerAuth
                    "SCHEMATHESIS_HOOKS": "tests.live.fuzz_hooks",
                    "PYTHONPATH": str(PROJECT),
                },
                capture_output=True,
                text=True,
                timeout=900,
            )
    summary = result.stdout[-6000:]
    print(summary)
    assert result.returncode == 0, summary
    assert "43/43" in result.stdout  # every operation of the schema was tested
