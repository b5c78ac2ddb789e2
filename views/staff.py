"""The staff home: what an administrator or accountant sees after signing in."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

bp = Blueprint("staff", __name__, url_prefix="/espace")

F = TypeVar("F", bound=Callable[..., Any])


def staff_required(view: F) -> F:
    """Let only signed-in staff through (403 for parents)."""

    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_staff:
            abort(403)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@bp.get("/")
@staff_required
def dashboard() -> str:
    """List the schools and roles of the signed-in staff member."""
    return render_template("staff/dashboard.html", memberships=current_user.memberships)
