"""Public pages: the home page parents and staff arrive on."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("public", __name__)


@bp.get("/")
def home() -> str:
    """Show what Guichet offers and where to start."""
    return render_template("public/home.html")
