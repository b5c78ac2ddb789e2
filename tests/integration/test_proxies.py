"""Behind a load balancer, rate limits count real visitors, not the balancer."""

from __future__ import annotations

from support import csrf_token


def _attempt(client, address: str) -> int:
    token = csrf_token(client, "/connexion")
    return client.post(
        "/connexion",
        data={"login": "x@example.org", "password": "Wrong-password-1", "csrf_token": token},
        headers={"X-Forwarded-For": address},
    ).status_code


def test_forwarded_addresses_count_separately_when_a_proxy_is_trusted(make_app):
    app = make_app(TRUSTED_PROXIES=1, RATELIMIT_LOGIN="2 per minute")
    alice, bob = app.test_client(), app.test_client()
    assert [_attempt(alice, "203.0.113.7") for _ in range(3)] == [200, 200, 429]
    assert _attempt(bob, "198.51.100.9") == 200


def test_forwarded_header_is_ignored_without_a_trusted_proxy(make_app):
    app = make_app(RATELIMIT_LOGIN="2 per minute")
    client = app.test_client()
    statuses = [_attempt(client, f"203.0.113.{n}") for n in range(3)]
    assert statuses == [200, 200, 429]  # a forged header does not buy more attempts
