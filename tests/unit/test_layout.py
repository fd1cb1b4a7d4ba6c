"""The layout says what depends on what (README, "Layout"): checked from the imports."""

from __future__ import annotations

import ast
from pathlib import Path

CHALICELIB = Path(__file__).resolve().parents[2] / "chalicelib"
# The floors of the house, ground first: a package imports only packages on lower floors, so an
# arrow back up (routing asking escalation for its prompts, say) fails here, not in a review.
# api/ and bootstrap.py stand above them all.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("platform",),
    ("telephony",),
    ("presence", "transcripts"),
    ("softphone",),
    ("routing",),
    ("escalation", "conversations"),
    ("recordings", "supervision"),
)
AREAS = tuple(package for floor in FLOORS[2:] for package in floor)


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def modules_below_api() -> list[Path]:
    return [
        path
        for path in CHALICELIB.rglob("*.py")
        if path.parent.name != "api" and path.name != "bootstrap.py"
    ]


def test_only_the_blueprints_and_the_composition_root_know_the_container() -> None:
    offenders = [
        str(path.relative_to(CHALICELIB))
        for path in modules_below_api()
        if any(name.startswith("chalicelib.bootstrap") for name in imports_of(path))
    ]
    assert offenders == []


def test_no_area_imports_a_blueprint() -> None:
    offenders = [
        str(path.relative_to(CHALICELIB))
        for path in modules_below_api()
        if any(name.startswith("chalicelib.api") for name in imports_of(path))
    ]
    assert offenders == []


def test_platform_and_telephony_depend_on_no_area() -> None:
    offenders = [
        f"{path.relative_to(CHALICELIB)} -> {name}"
        for package in ("platform", "telephony")
        for path in (CHALICELIB / package).glob("*.py")
        for name in imports_of(path)
        if name.startswith(tuple(f"chalicelib.{area}" for area in AREAS))
    ]
    assert offenders == []


def test_every_area_is_a_package_and_few_modules_are_loose() -> None:
    for area in (*AREAS, "platform", "telephony", "api"):
        assert (CHALICELIB / area / "__init__.py").is_file(), area
    loose = sorted(p.name for p in CHALICELIB.glob("*.py"))
    assert loose == ["__init__.py", "bootstrap.py"]


def test_each_package_imports_only_packages_on_lower_floors() -> None:
    floor_of = {package: level for level, floor in enumerate(FLOORS) for package in floor}
    offenders = [
        f"{path.relative_to(CHALICELIB)} -> {name}"
        for package, level in floor_of.items()
        for path in (CHALICELIB / package).rglob("*.py")
        for name in imports_of(path)
        if name.startswith("chalicelib.")
        and (other := name.split(".")[1]) != package
        and floor_of.get(other, len(FLOORS)) >= level
    ]
    assert offenders == []


def test_every_package_stands_on_a_floor() -> None:
    placed = {package for floor in FLOORS for package in floor}
    packages = {path.parent.name for path in CHALICELIB.glob("*/__init__.py")}
    assert packages - {"api"} == placed
