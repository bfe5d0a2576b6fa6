"""End to end: after signing out, the Back button shows the sign-in page in the session's
language, never the cached page shell and "Error loading layout" (issue 17)."""

from __future__ import annotations

import re

import pytest

from tests.browser import ARTIFACTS, chromium_page, shared_demo_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server():
    url, data_dir = shared_demo_server()  # these tests only read: one server per process
    yield url


@pytest.mark.parametrize("lang, title", [("en", "Sign in"), ("vi", "Đăng nhập")])
def test_back_after_signing_out_lands_on_the_sign_in_page(server, lang, title):
    with chromium_page(1440, 900, role="planner") as page:
        page.goto(f"{server}/planner?lang={lang}")
        page.wait_for_selector("canvas.maplibregl-canvas", timeout=180_000)
        page.wait_for_timeout(1000)
        page.click("button.logout")
        page.wait_for_url("**/login**", timeout=30_000)
        assert page.inner_text("main.login h2") == title

        page.go_back()
        # Back goes to the page signed out: the server sends the sign-in form again (a page
        # shell kept from before would stay on /planner and fail to load its layout)
        page.wait_for_url(re.compile(r"/login\?next=/planner"), timeout=30_000)
        page.wait_for_selector("main.login h2", timeout=30_000)
        page.wait_for_load_state("networkidle")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"signout_back_{lang}.png"))
        body = page.inner_text("body")
        assert "Error loading" not in body
        assert "/login?next=/planner" in page.url and page.url.endswith(f"&lang={lang}")
        assert page.inner_text("main.login h2") == title
        assert page.evaluate("() => document.documentElement.lang") == lang
