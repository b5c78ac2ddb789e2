"""The staff home: what an administrator or accountant sees after signing in."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from models import STAFF_ROLES, Role

bp = Blueprint("staff", __name__, url_prefix="/espace")

F = TypeVar("F", bound=Callable[..., Any])


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Let through only signed-in accounts holding one of these roles somewhere (else 403).

    Pages still check the school of what they show: a role in one school opens nothing
    of another.
    """

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not any(current_user.has_role(role) for role in roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


staff_required = roles_required(*STAFF_ROLES)


@bp.get("/")
@staff_required
def dashboard() -> str:
    """List the schools and roles of the signed-in staff member."""
    return render_template("staff/dashboard.html", memberships=current_user.memberships)
