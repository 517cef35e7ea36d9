"""Dependencies point down (STYLE.md): the core (models, services, selectors, filters, the
import, the tally…) imports no HTTP, no DRF and no face; and no face imports another face.
Read from the source (ast), so a violation fails here whether or not any test runs it."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("numbers_app", "agents_app", "kalem_site/accounts")
# The modules of an app that are faces (or wiring), not core.
FACE_MODULES = {"views", "forms", "urls", "admin", "apps", "__init__"}
FACE_PACKAGES = {"api", "views", "management", "migrations", "templatetags"}
# Neutral helpers of kalem_site that the core may use: they must stay neutral too.
NEUTRAL = ("kalem_site/ids.py", "kalem_site/paging.py", "kalem_site/db.py", "kalem_site/actors.py")

# What the core never imports: HTTP, DRF, and the faces.
HTTP_AND_API = ("rest_framework", "django.http", "django.shortcuts", "django.template.response")
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


def is_api(module: str) -> bool:
    return ".api." in f".{module}." or module.startswith("kalem_site.api")


def is_dashboard(module: str) -> bool:
    if is_api(module):
        return False
    parts = module.split(".")
    return module in DASHBOARD_HELPERS or (
        parts[0] in {"numbers_app", "agents_app", "kalem_site"} and bool({"views", "forms"} & set(parts[1:]))
    )


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
    } <= names
    assert not {name for name in names if is_api(name) or is_dashboard(name)}
    assert {module_name(path) for path in api_files()} >= {"numbers_app.api.views", "kalem_site.api.pagination"}
    assert {module_name(path) for path in dashboard_files()} >= {"kalem_site.web", "agents_app.views"}


def test_the_core_imports_no_http_no_drf_and_no_face():
    def forbidden(module: str) -> bool:
        return module.startswith(HTTP_AND_API) or is_api(module) or is_dashboard(module)

    assert violations(core_files(), forbidden) == []


def test_the_api_imports_nothing_of_the_dashboard():
    assert violations(api_files(), is_dashboard) == []


def test_the_dashboard_imports_nothing_of_the_api():
    assert violations(dashboard_files(), is_api) == []


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
