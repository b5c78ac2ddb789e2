"""One commit per request, at the boundary: services only flush."""

from __future__ import annotations

from flask import Flask, Response

from extensions import db


def init_app(app: Flask) -> None:
    """Commit after a successful response, roll back after an error or an exception."""

    @app.after_request
    def commit_or_rollback(response: Response) -> Response:
        if response.status_code < 400:
            db.session.commit()  # releases the jobs queued during the request
        else:
            db.session.rollback()
        return response

    @app.teardown_request
    def rollback_on_exception(error: BaseException | None) -> None:
        if error is not None:
            db.session.rollback()
