"""TOTP MFA in the pages (issue 20, item 6): a supervisor without it is led through enrolment by
the board (the API answers 403 MfaRequired), then signs in again with a code and sees the board;
wrong codes are refused with a clear message at both steps."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import boto3
from playwright.sync_api import expect

from ops.cognito_local import LocalPool, ensure_user
from ops.stage import ROOT
from ops.totp import code_at, current_code
from tests.browser.conftest import (
    DEMO_PASSWORD,
    Softphone,
    Stack,
    enter_code,
    save_screenshot,
    staff_page,
)

BASE32 = re.compile(r"^[A-Z2-7]{16,}$")  # a TOTP secret as Cognito hands it out
NEW_SUPERVISOR = "mfa.newcomer"  # made here, with no TOTP; no other test uses it


def cognito(stack: Stack) -> Any:
    return boto3.session.Session(
        region_name=stack.region, aws_access_key_id="testing", aws_secret_access_key="testing"
    ).client("cognito-idp", endpoint_url=stack.moto_url)


def wrong_code(secret: str) -> str:
    near = {code_at(secret, time.time() + d * 30) for d in (-1, 0, 1, 2)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)


def test_a_supervisor_without_totp_enrols_then_signs_in_with_a_code(
    browser: Any, stack: Stack
) -> None:
    client = cognito(stack)
    pool = LocalPool(stack.pool_id, stack.client_id)
    ensure_user(client, pool, NEW_SUPERVISOR, supervisor=True, totp=False)

    with staff_page(browser, stack, "/board/") as page:
        page.fill("#sign-in-form input[name=username]", NEW_SUPERVISOR)
        page.fill("#sign-in-form input[name=password]", DEMO_PASSWORD)
        with page.expect_response(
            lambda r: "/transcripts/flagged" in r.url and r.status == 403
        ) as refused:
            page.click("#sign-in-form button[type=submit]")
        assert refused.value.json()["Code"] == "MfaRequired"

        # Enrolment: the secret as text and as a QR code (read here as the app would scan it).
        enrol = page.locator("#mfa-enrol")
        expect(enrol).to_be_visible()
        expect(enrol).to_contain_text("Supervisors must use two-step verification")
        expect(page.locator("#mfa-secret")).to_have_text(BASE32)
        secret = page.locator("#mfa-secret").inner_text().strip()
        assert page.locator("#mfa-qr").evaluate("c => c.width") > 100
        save_screenshot(page, "mfa-enrol")

        enter_code(page, "#mfa-enrol-form", wrong_code(secret))
        expect(page.locator("#mfa-enrol-error")).to_have_text(
            "That code is not right. Enter the code your app shows now."
        )
        assert (
            client.admin_get_user(UserPoolId=stack.pool_id, Username=NEW_SUPERVISOR)[
                "UserMFASettingList"
            ]
            == []
        )
        enter_code(page, "#mfa-enrol-form", current_code(secret))

        # Signed out, asked to sign in again, now with a code.
        expect(enrol).to_be_hidden()
        expect(page.locator("#sign-in")).to_be_visible()
        expect(page.locator("#sign-in-error")).to_contain_text("Two-step verification is set up")
        user = client.admin_get_user(UserPoolId=stack.pool_id, Username=NEW_SUPERVISOR)
        assert user["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"]

        page.fill("#sign-in-form input[name=username]", NEW_SUPERVISOR)
        page.fill("#sign-in-form input[name=password]", DEMO_PASSWORD)
        page.click("#sign-in-form button[type=submit]")
        expect(page.locator("#mfa-code")).to_be_visible()
        save_screenshot(page, "mfa-code")
        enter_code(page, "#mfa-code-form", wrong_code(secret))
        expect(page.locator("#mfa-code-error")).to_have_text(
            "That code is not right. Enter the code your app shows now."
        )
        with page.expect_response(
            lambda r: "/transcripts/flagged" in r.url and r.status == 200, timeout=20000
        ):
            enter_code(page, "#mfa-code-form", current_code(secret))

        # The page started again with supervisor rights: the board, no dialog.
        expect(page.locator("section.team").first).to_be_visible()
        expect(page.locator("#sign-in")).to_be_hidden()
        expect(page.locator("#mfa-enrol")).to_have_count(0)


def test_the_qr_library_is_the_pinned_mit_release() -> None:
    web = ROOT / "web"
    declared = json.loads((web / "package.json").read_text())["dependencies"]["qrcode-generator"]
    locked = json.loads((web / "package-lock.json").read_text())["packages"][
        "node_modules/qrcode-generator"
    ]
    manifest = json.loads((web / "vendor" / "manifest.json").read_text())["qrcode-generator"]
    assert declared == locked["version"] == manifest["version"]
    assert locked["license"] == "MIT"
    bundle = (web / "vendor" / manifest["file"]).read_text()
    assert "export const qrcode" in bundle  # the ES module web/shared/staff_sign_in.js imports


def test_a_rep_enrols_from_the_softphone_and_the_next_sign_in_asks_for_a_code(
    softphone: Softphone, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    agent = demo_agents[2]["agent_id"]  # test_calls uses them too: TOTP is switched off after
    client = cognito(stack)
    page = softphone.page
    softphone.open()
    softphone.sign_in(agent)
    expect(page.locator("#agent-name")).to_have_text(agent)
    try:
        page.click("#mfa-enrol-button")
        expect(page.locator("#mfa-enrol")).to_be_visible()
        expect(page.locator("#mfa-enrol-why")).to_have_text(
            "Add a second step to your sign-in: a code from an authenticator app."
        )
        secret = page.locator("#mfa-secret").inner_text().strip()
        enter_code(page, "#mfa-enrol-form", current_code(secret))
        expect(page.locator("[data-banner=mfa]")).to_contain_text("Two-step verification is on")
        user = client.admin_get_user(UserPoolId=stack.pool_id, Username=agent)
        assert user["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"]

        page.click("#signout")
        expect(page.locator("#signin")).to_be_visible()
        softphone.sign_in(agent)
        expect(page.locator("#mfa-code")).to_be_visible()
        enter_code(page, "#mfa-code-form", current_code(secret))
        expect(page.locator("#agent-name")).to_have_text(agent)
        expect(page.locator("#phone-status")).to_have_attribute("data-status", "ready")
    finally:
        client.admin_set_user_mfa_preference(
            UserPoolId=stack.pool_id,
            Username=agent,
            SoftwareTokenMfaSettings={"Enabled": False, "PreferredMfa": False},
        )
