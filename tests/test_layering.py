"""Dependencies point down (STYLE.md): the core (models, services, selectors, filters, the
import, the tally…) imports no HTTP, no DRF and no face; and no face (API, dashboard, admin,
commands) imports another face. Read from the source (ast), so a violation fails here
whether or not any test runs it; and checked by importing each core module in a fresh
interpreter, so an import one step removed (a library that imports DRF) fails too."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("numbers_app", "agents_app", "webhooks_app", "kalem_site/accounts", "kalem_site/tasks")
# The modules of an app that are faces (or wiring), not core.
FACE_MODULES = {"views", "forms", "urls", "admin", "apps", "__init__"}
FACE_PACKAGES = {"api", "views", "management", "migrations", "templatetags"}
# Neutral helpers of kalem_site that the core may use: they must stay neutral too.
NEUTRAL = (
    "kalem_site/ids.py",
    "kalem_site/paging.py",
    "kalem_site/db.py",
    "kalem_site/actors.py",
    "kalem_site/timestamps.py",
)

# What the core never imports: HTTP, DRF, and the faces.
HTTP_AND_API = ("rest_framework", "drf_spectacular", "django.http", "django.shortcuts", "django.template.response")
DRF = ("rest_framework", "drf_spectacular")
DASHBOARD_HELPERS = ("kalem_site.web",)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, absolute; for `from x import y`, both x and x.y (y may be
    a module)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


OURS = {"numbers_app", "agents_app", "webhooks_app", "kalem_site"}


def is_api(module: str) -> bool:
    return module.split(".")[0] in OURS and ".api." in f".{module}."


def is_drf(module: str) -> bool:
    return module.split(".")[0] in DRF


def is_dashboard(module: str) -> bool:
    if is_api(module):
        return False
    parts = module.split(".")
    return module in DASHBOARD_HELPERS or (parts[0] in OURS and bool({"views", "forms"} & set(parts[1:])))


def is_admin(module: str) -> bool:
    parts = module.split(".")
    return parts[0] in OURS and "admin" in parts[1:]


def is_command(module: str) -> bool:
    parts = module.split(".")
    return parts[0] in OURS and "management" in parts[1:]


def is_face(module: str) -> bool:
    return is_api(module) or is_dashboard(module) or is_admin(module) or is_command(module)


def core_files() -> list[Path]:
    files = [ROOT / path for path in NEUTRAL]
    for app in APPS:
        for path in sorted((ROOT / app).glob("*.py")):
            if path.stem not in FACE_MODULES:
                files.append(path)
    return files


def api_files() -> list[Path]:
    return sorted(ROOT.glob("*/api/**/*.py")) + sorted(ROOT.glob("kalem_site/*/api/**/*.py"))


def dashboard_files() -> list[Path]:
    files = [ROOT / "kalem_site/web.py"]
    for app in APPS:
        files += [path for path in (ROOT / app).glob("*.py") if path.stem in {"views", "forms"}]
        files += sorted((ROOT / app / "views").glob("**/*.py"))
    return files


def admin_files() -> list[Path]:
    return [ROOT / app / "admin.py" for app in APPS if (ROOT / app / "admin.py").exists()]


def command_files() -> list[Path]:
    return [path for app in APPS for path in sorted((ROOT / app / "management" / "commands").glob("*.py"))]


def violations(files: list[Path], forbidden) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in files
        for module in sorted(imported_modules(path))
        if forbidden(module)
    ]


def test_the_lists_of_modules_find_the_modules():
    names = {module_name(path) for path in core_files()}
    assert {
        "numbers_app.models",
        "numbers_app.services",
        "numbers_app.selectors",
        "numbers_app.filters",
        "numbers_app.audit",
        "numbers_app.imports",
        "numbers_app.import_jobs",
        "numbers_app.tally",
        "numbers_app.twilio",
        "numbers_app.phone",
        "numbers_app.validators",
        "agents_app.models",
        "agents_app.services",
        "agents_app.filters",
        "kalem_site.accounts.models",
        "kalem_site.accounts.services",
        "kalem_site.tasks.workers",
        "webhooks_app.models",
        "webhooks_app.services",
        "webhooks_app.outbox",
        "webhooks_app.ssrf",
    } <= names
    assert not {name for name in names if is_api(name) or is_dashboard(name)}
    assert {module_name(path) for path in api_files()} >= {"numbers_app.api.views", "kalem_site.api.pagination"}
    assert {module_name(path) for path in dashboard_files()} >= {"kalem_site.web", "agents_app.views"}
    assert {module_name(path) for path in admin_files()} == {
        "numbers_app.admin",
        "agents_app.admin",
        "webhooks_app.admin",
        "kalem_site.accounts.admin",
    }
    assert {module_name(path) for path in command_files()} >= {
        "numbers_app.management.commands.importnumbers",
        "kalem_site.accounts.management.commands.createtoken",
    }


def test_the_core_imports_no_http_no_drf_and_no_face():
    def forbidden(module: str) -> bool:
        return module.startswith(HTTP_AND_API) or is_face(module)

    assert violations(core_files(), forbidden) == []


def test_the_api_imports_nothing_of_the_dashboard_or_the_admin():
    assert violations(api_files(), lambda module: is_dashboard(module) or is_admin(module)) == []


def test_the_dashboard_imports_nothing_of_the_api_or_the_admin():
    assert violations(dashboard_files(), lambda module: is_api(module) or is_admin(module)) == []


def test_the_admin_imports_nothing_of_the_dashboard_or_the_api():
    assert violations(admin_files(), lambda module: is_api(module) or is_dashboard(module)) == []


def test_the_commands_import_nothing_of_the_api_the_dashboard_or_the_admin():
    assert violations(command_files(), lambda module: is_api(module) or is_dashboard(module) or is_admin(module)) == []


# Imported for real: what a module pulls in through the libraries it imports. The admin's
# AdminConfig.ready() imports every admin.py (and with it what the admin uses), so the probe
# sets Django up without that, and counts what the module adds to what setup loaded.
PROBE = """
import importlib, sys
import django, django.contrib.admin
django.contrib.admin.autodiscover = lambda: None
django.setup()
loaded = set(sys.modules)
if sys.argv[1:]:
    importlib.import_module(sys.argv[1])
    loaded = set(sys.modules) - loaded
print("\\n".join(sorted(loaded)))
"""


def loaded_modules(*module: str) -> set[str]:
    """The modules a bare django.setup() loads; or, given a module, those importing it adds."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kalem_site.settings", "SECRET_KEY": "layering-probe"}
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *module], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    return set(run.stdout.split())


def test_setting_django_up_loads_of_drf_only_its_apps_and_no_face():
    """The baseline the next test compares with: INSTALLED_APPS loads DRF's and
    drf-spectacular's app configs, nothing more of them; and the models (which setup imports)
    import no DRF and no face."""
    loaded = loaded_modules()
    assert {"numbers_app.models", "agents_app.models", "kalem_site.accounts.models"} <= loaded
    assert {module for module in loaded if is_drf(module)} <= {
        "rest_framework",
        "rest_framework.apps",
        "rest_framework.checks",
        "drf_spectacular",
        "drf_spectacular.apps",
        "drf_spectacular.checks",
    }
    assert {module for module in loaded if is_face(module)} == set()


@pytest.mark.parametrize("module", sorted(module_name(path) for path in core_files()))
def test_importing_a_core_module_loads_no_drf_and_no_face(module):
    added = loaded_modules(module)
    assert sorted(name for name in added if is_drf(name) or is_face(name)) == []


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from django.http import HttpResponse", {"django.http", "django.http.HttpResponse"}),
        ("from .api.filters import X", {"numbers_app.api.filters", "numbers_app.api.filters.X"}),
        ("from ..views import x", {"numbers_app.views", "numbers_app.views.x"}),
        ("import rest_framework.fields", {"rest_framework.fields"}),
    ],
)
def test_relative_imports_are_resolved(tmp_path, monkeypatch, source, expected):
    module = (
        ROOT / "numbers_app" / "api" / "probe.py" if source.startswith("from ..") else ROOT / "numbers_app" / "probe.py"
    )
    monkeypatch.setattr(Path, "read_text", lambda self, *args, **kwargs: source)
    assert imported_modules(module) == expected
