"""The stand-in's parts call one another but import none of one another (ops/standin/ports.py):
each names its peers by a Protocol and passes the resources of ops/standin/resources.py, and the
engine alone builds them. An import between two parts would bring their circle back."""

from __future__ import annotations

import ast
from pathlib import Path

STANDIN = Path(__file__).resolve().parents[2] / "ops" / "standin"
PARTS = ("conferences", "live_transcription", "outbound", "recordings", "taskrouter", "voice")


def standin_imports(path: Path) -> set[str]:
    """The ops.standin modules a file imports, at run time or for type checking alike."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "ops.standin":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith("ops.standin."):
                found.add(node.module.removeprefix("ops.standin."))
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.removeprefix("ops.standin.")
                for alias in node.names
                if alias.name.startswith("ops.standin.")
            )
    return found


def test_no_part_imports_another_part() -> None:
    offenders = sorted(
        f"{part} -> {other}"
        for part in PARTS
        for other in standin_imports(STANDIN / f"{part}.py")
        if other in PARTS and other != part
    )
    assert offenders == []


def test_ports_and_resources_import_no_part() -> None:
    for module in ("ports", "resources"):
        assert standin_imports(STANDIN / f"{module}.py") & set(PARTS) == set(), module


def test_the_engine_builds_every_part() -> None:
    assert set(PARTS) <= standin_imports(STANDIN / "engine.py")
