"""The whole dependency tree is pinned with hashes, and what runs is what was locked (issue 20).

requirements.in / requirements-dev.in name the direct dependencies; `make lock` (pip-compile)
writes requirements.txt (the Lambda bundle: `chalice package` and `chalice deploy` read it) and
requirements-dev.txt, every package with its version and hashes, and `make` installs them in
pip's hash-checking mode (https://pip.pypa.io/en/stable/topics/secure-installs/).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[a-z0-9,]+\])?==([^\s;\\]+)")
# Imported by the app but not bundled: the conversations export runs with AWS's SDK for pandas
# layer (docs/conversations.md, "Why pyarrow is not in the Lambda bundle").
FROM_A_LAYER = {"pyarrow": "AWSSDKPandas"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a pip-compile output; fails on any unpinned line."""
    entries: dict[str, tuple[str, list[str]]] = {}
    logical = re.sub(r"\\\n", " ", path.read_text())
    for line in logical.splitlines():
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        match = PIN.match(text)
        assert match, f"{path.name}: not pinned to one version: {text!r}"
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", text)
        entries[canonical(match.group(1))] = (match.group(2), hashes)
    return entries


def direct(path: Path) -> dict[str, str]:
    """The `name==version` lines of a hand-written .in file (its `-r` includes followed)."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if text.startswith("-r "):
            pins.update(direct(path.parent / text[3:].strip()))
        elif text:
            match = PIN.match(text)
            assert match, f"{path.name}: a direct dependency without one version: {text!r}"
            pins[canonical(match.group(1))] = match.group(2)
    return pins


RUNTIME = locked(ROOT / "requirements.txt")
DEVELOPMENT = locked(ROOT / "requirements-dev.txt")


def test_every_package_of_both_trees_has_one_version_and_its_hashes() -> None:
    for name, (_, hashes) in {**RUNTIME, **DEVELOPMENT}.items():
        assert hashes, f"{name} has no --hash: pip's hash-checking mode would refuse the file"


def test_the_locks_hold_the_direct_dependencies_at_the_versions_asked_for() -> None:
    for lock, source in ((RUNTIME, "requirements.in"), (DEVELOPMENT, "requirements-dev.in")):
        for name, version in direct(ROOT / source).items():
            assert name in lock, f"{name} ({source}) is missing from its lock: run `make lock`"
            found = lock[name][0]
            assert found == version, f"{name}: {source} asks {version}, the lock has {found}"


def test_the_tests_run_the_versions_the_lambda_bundles() -> None:
    for name, (version, _) in RUNTIME.items():
        assert DEVELOPMENT.get(name, ("absent",))[0] == version, name


def test_the_installed_environment_is_the_locked_one() -> None:
    # A venv installed before the last `make lock` would test other code than the one locked.
    for name, (version, _) in DEVELOPMENT.items():
        installed = importlib.metadata.version(name)
        assert installed == version, f"{name}: installed {installed}, locked {version}"


def _imported_modules(paths: list[Path]) -> set[str]:
    modules: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    return modules


def test_every_third_party_module_the_app_imports_is_in_the_lambda_bundle() -> None:
    sources = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    third_party = _imported_modules(sources) - set(sys.stdlib_module_names) - {"app", "chalicelib"}
    providers = importlib.metadata.packages_distributions()
    for module in sorted(third_party):
        distributions = {canonical(d) for d in providers.get(module, [])}
        # chalice itself is provided by Lambda's handler bootstrap: `chalice package` vendors its
        # runtime module (chalice.app) into every bundle.
        if module == "chalice":
            continue
        if module in FROM_A_LAYER:
            assert FROM_A_LAYER[module] in (ROOT / ".chalice" / "config.json").read_text()
            continue
        assert distributions & set(RUNTIME), f"{module} is imported by the app but not bundled"


def test_make_installs_in_hash_checking_mode() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet --require-hashes -r requirements-dev.txt" in makefile
