"""CSRF, session cookies, sign-out, throttling, security headers and the request size limit."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from app_testkit import counts, snapshot
from flask import Flask
from flask.testing import FlaskClient

from ledger_app.forms_common import today

COOKIE = "ledger_session"


def donation(**overrides: str) -> dict[str, str]:
    form = {
        "donor_name": "孙小美",
        "donor_kind": "person",
        "donor_phone": "13200132000",
        "display": "masked",
        "amount": "50.00",
        "channel": "cash",
        "fund": "general",
        "date": today().isoformat(),
    }
    form.update(overrides)
    return form


def session_cookie_header(headers: list[str]) -> str:
    found = [h for h in headers if h.startswith(f"{COOKIE}=")]
    assert found, headers
    return found[-1]


# -- CSRF -------------------------------------------------------------------------------------------


def test_a_post_without_csrf_token_is_refused_and_writes_nothing(
    app: Flask, signed_in: Callable
) -> None:
    admin = signed_in("admin")
    files, rows = snapshot(app), counts(app)
    response = admin.client.post("/admin/donations/new", data=donation())
    assert response.status_code == 400
    assert snapshot(app) == files
    assert counts(app) == rows
    assert counts(app)["donors"] == 0


def test_a_post_with_a_forged_csrf_token_is_refused(app: Flask, signed_in: Callable) -> None:
    admin = signed_in("admin")
    files, rows = snapshot(app), counts(app)
    response = admin.client.post(
        "/admin/donations/new", data={**donation(), "csrf_token": "forged"}
    )
    assert response.status_code == 400
    assert snapshot(app) == files
    assert counts(app) == rows


def test_a_csrf_token_from_another_session_is_refused(app: Flask, signed_in: Callable) -> None:
    admin, other = signed_in("admin"), signed_in("admin2")
    foreign = other.token("/admin/donations/new")
    files, rows = snapshot(app), counts(app)
    response = admin.client.post("/admin/donations/new", data={**donation(), "csrf_token": foreign})
    assert response.status_code == 400
    assert snapshot(app) == files
    assert counts(app) == rows


def test_the_login_form_itself_needs_a_csrf_token(app: Flask, client: FlaskClient, auth) -> None:
    response = client.post("/auth/login", data={"username": "admin", "password": auth.password})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302


# -- sessions ---------------------------------------------------------------------------------------


def test_the_session_cookie_is_secure_httponly_and_samesite(app: Flask, auth) -> None:
    response = auth.login("admin")
    assert response.status_code == 302
    header = session_cookie_header(response.headers.getlist("Set-Cookie"))
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert {"secure", "httponly", "samesite"} <= attributes
    assert "samesite=lax" in header.lower() or "samesite=strict" in header.lower()


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(app: Flask, auth) -> None:
    wrong_password = auth.login("admin", "not-the-password")
    no_such_user = auth.login("nobody", "not-the-password")
    assert wrong_password.status_code == no_such_user.status_code == 401
    assert "用户名或密码不正确" in wrong_password.get_data(as_text=True)
    assert "用户名或密码不正确" in no_such_user.get_data(as_text=True)
    assert auth.client.get("/admin/").status_code == 302


def test_after_logout_a_replayed_session_cookie_no_longer_signs_in(
    app: Flask, auth, visitor: Callable
) -> None:
    assert auth.login("admin").status_code == 302
    assert auth.client.get("/admin/").status_code == 200
    stolen = auth.client.get_cookie(COOKIE)
    assert stolen is not None

    # The stolen cookie works while the session lives ...
    thief = visitor().client
    thief.set_cookie(COOKIE, stolen.value)
    assert thief.get("/admin/").status_code == 200

    assert auth.logout().status_code == 302
    assert auth.client.get("/admin/").status_code == 302

    # ... and not after sign-out, in a fresh client as in the one that signed out.
    replay = visitor().client
    replay.set_cookie(COOKIE, stolen.value)
    response = replay.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_a_next_parameter_cannot_send_the_user_to_another_site(
    app: Flask, client: FlaskClient, auth
) -> None:
    for target in (
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/\t/evil.example",
        "/\n/evil.example",
    ):
        token = auth.token("/auth/login")
        response = client.post(
            "/auth/login",
            query_string={"next": target},
            data={"username": "admin", "password": auth.password, "csrf_token": token},
        )
        assert response.status_code == 302
        location = response.headers["Location"]
        # Browsers read a backslash as a slash and drop tabs: neither may make it another host.
        browser_view = location.replace("\\", "/").replace("\t", "")
        assert browser_view.startswith("/"), location
        assert not browser_view.startswith("//"), location
        assert urlsplit(browser_view).netloc == "", location
        auth.logout()
    token = auth.token("/auth/login")
    response = client.post(
        "/auth/login",
        query_string={"next": "/admin/approvals"},
        data={"username": "admin", "password": auth.password, "csrf_token": token},
    )
    assert response.headers["Location"] == "/admin/approvals"


# -- throttling -------------------------------------------------------------------------------------


def test_after_five_failed_logins_even_the_right_password_is_refused(
    app: Flask, auth, make_app: Callable, visitor: Callable
) -> None:
    for _ in range(5):
        assert auth.login("admin", "wrong-password-guess").status_code == 401
    blocked = auth.login("admin")
    assert blocked.status_code == 429
    assert "登录失败次数过多" in blocked.get_data(as_text=True)
    assert auth.client.get("/admin/").status_code == 302

    # The count lives in the database: another app instance (another worker) refuses too.
    other_worker = make_app(setup=False)
    elsewhere = visitor(other_worker)
    assert elsewhere.login("admin").status_code == 429
    assert elsewhere.client.get("/admin/").status_code == 302

    # Other users are not locked out by someone guessing at "admin".
    assert visitor().login("admin2").status_code == 302


# -- headers and limits -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/auth/login", "/funds/general", "/api/v1/openapi.json"])
def test_security_headers_are_on_every_response(app: Flask, client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    csp = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("X-Frame-Options") == "DENY"


def test_signed_in_pages_are_not_cached(app: Flask, signed_in: Callable) -> None:
    admin = signed_in("admin")
    assert admin.client.get("/admin/").headers.get("Cache-Control") == "no-store"


def test_a_request_larger_than_the_limit_is_refused_with_413(
    app: Flask, signed_in: Callable
) -> None:
    admin = signed_in("admin")
    files, rows = snapshot(app), counts(app)
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit
    token = admin.token("/admin/donations/new")
    response = admin.client.post(
        "/admin/donations/new", data={**donation(note="x" * (limit + 1)), "csrf_token": token}
    )
    assert response.status_code == 413
    assert snapshot(app) == files
    assert counts(app) == rows
