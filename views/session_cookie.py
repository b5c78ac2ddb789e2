"""The session cookie: re-sent when it changed or once a minute, not with every response.

A permanent session slides (PERMANENT_SESSION_LIFETIME after the last request), which in
Flask means signing and sending the cookie again with every response. Sliding it once a
minute keeps the same behaviour to the minute and spares most responses that work.
"""

from __future__ import annotations

import time

from flask import Flask
from flask.sessions import SecureCookieSessionInterface, SessionMixin

SEEN_KEY = "_seen"  # the minute the cookie was last sent


def current_minute() -> int:
    """Return the minutes since the epoch."""
    return int(time.time() // 60)


class MinuteSlidingSessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions whose expiry slides once a minute."""

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        """Send the cookie if the session changed, or if it was last sent a minute ago."""
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return session.modified
        minute = current_minute()
        if session.get(SEEN_KEY) != minute:
            session[SEEN_KEY] = minute  # saved in the cookie about to be sent
            return True
        return session.modified


def init_app(app: Flask) -> None:
    """Use the minute-sliding session cookie."""
    app.session_interface = MinuteSlidingSessionInterface()
