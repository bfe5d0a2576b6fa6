"""The language a browser session chose (dashboard/session_language.py): kept from a page's
``?lang``, a form or an in-app switch; a page opened without ``?lang`` goes to it."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from dashboard.session_language import LANG_COOKIE, install, request_language


@pytest.fixture
def client():
    app = Flask(__name__)
    install(app, ("/", "/commander"))

    @app.route("/", methods=["GET", "POST"])
    @app.route("/commander")
    @app.route("/_dash-update-component", methods=["POST"])
    @app.route("/login", methods=["GET", "POST"])
    @app.route("/template/<kind>")
    def page(kind=None):
        return request_language("vi")

    return app.test_client()


def _kept(response) -> str | None:
    cookies = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(LANG_COOKIE)]
    return cookies[-1].split(";")[0].split("=", 1)[1] if cookies else None


def test_a_page_with_lang_keeps_it_and_a_bare_address_goes_to_it(client):
    first = client.get("/commander?lang=en&layer=gi")
    assert first.status_code == 200 and first.text == "en" and _kept(first) == "en"
    assert "HttpOnly" in first.headers["Set-Cookie"]
    bare = client.get("/commander?layer=gi&types=a&types=b")
    assert bare.status_code == 302
    assert bare.headers["Location"] == "/commander?lang=en&layer=gi&types=a&types=b"
    assert client.get("/").headers["Location"] == "/?lang=en"
    # the sign-in page is not sent anywhere, but speaks the kept language
    login = client.get("/login")
    assert login.status_code == 200 and login.text == "en"


def test_nothing_kept_nothing_changed_and_unknown_languages_ignored(client):
    response = client.get("/commander")
    assert response.status_code == 200 and response.text == "vi" and _kept(response) is None
    odd = client.get("/commander?lang=fr")
    assert odd.status_code == 200 and odd.text == "vi" and _kept(odd) is None
    client.set_cookie(LANG_COOKIE, "xx")  # a hand-made cookie is no language
    assert client.get("/commander").status_code == 200
    assert client.get("/commander").text == "vi"


def test_the_in_app_switch_and_the_sign_out_form_are_kept(client):
    client.get("/commander?lang=vi")
    body = {"output": "page.children", "inputs": [
        {"id": "url", "property": "pathname", "value": "/commander"},
        {"id": "url", "property": "search", "value": "?lang=en&layer=gi"}]}
    switched = client.post("/_dash-update-component", data=json.dumps(body),
                           content_type="application/json")
    assert switched.text == "en" and _kept(switched) == "en"
    assert client.get("/commander").headers["Location"] == "/commander?lang=en"
    # another component's "search" is not the address bar
    other = {"inputs": [{"id": "cmd-url", "property": "search", "value": "?lang=vi"}]}
    assert _kept(client.post("/_dash-update-component", data=json.dumps(other),
                             content_type="application/json")) is None
    signed_out = client.post("/login", data={"lang": "vi"})
    assert signed_out.text == "vi" and _kept(signed_out) == "vi"
    # a file asked for in the other language answers in it, and changes no choice
    template = client.get("/template/outreach?lang=en")
    assert template.text == "en" and _kept(template) is None


def test_outside_a_request_the_default():
    assert request_language("en") == "en"
