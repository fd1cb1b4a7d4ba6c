"""`ops deploy` on a chalice-owned stage (the default shape): the stack without functions or API,
`chalice deploy` (tests/fakes/chalice.py at its process boundary) making them once and updating
them in place, what Chalice's config cannot say applied after it, rollback of the functions."""

from __future__ import annotations

from pathlib import Path

from ops.deploy import Deployment
from tests.ops.conftest import deploy


def test_scratch(owned: Deployment, files: dict[str, Path]) -> None:
    out = deploy(owned, files)
    print("\n".join(out))
    assert out[0] == "exit 0"
