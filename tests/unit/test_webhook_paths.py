"""Every path Twilio calls is declared once (chalicelib/telephony/webhooks.py) and routed.

A path written in two places can be renamed in one, and every callback to it then fails its
signature check (signatures are checked against the public base URL plus the route's path).
"""

from __future__ import annotations

import re
from pathlib import Path

from chalicelib.telephony import webhooks

ROOT = Path(__file__).resolve().parents[2]
PATHS = {name: value for name, value in vars(webhooks).items() if name.isupper()}


def test_no_module_but_webhooks_writes_a_twilio_path() -> None:
    literal = re.compile(r"""["']/twilio/""")
    sources = [*ROOT.glob("chalicelib/**/*.py"), *ROOT.glob("ops/**/*.py"), ROOT / "app.py"]
    offenders = [
        str(path.relative_to(ROOT))
        for path in sources
        if path != Path(webhooks.__file__).resolve() and literal.search(path.read_text())
    ]
    assert offenders == []


def test_every_declared_path_is_a_route_of_the_app() -> None:
    from app import app

    assert set(PATHS.values()) <= set(app.routes), set(PATHS.values()) - set(app.routes)


def test_every_twilio_route_of_the_app_is_declared() -> None:
    from app import app

    twilio_routes = {path for path in app.routes if path.startswith("/twilio/")}
    assert twilio_routes == set(PATHS.values())
