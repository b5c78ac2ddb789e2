"""Links every page repeats (the frame's assets and menu), built once per process."""

from __future__ import annotations

from typing import Any

from flask import Flask, request, url_for

_BUILT: dict[tuple[str, str, tuple[tuple[str, Any], ...]], str] = {}


def frame_url(endpoint: str, **values: Any) -> str:
    """Return url_for(endpoint, **values), remembered: for links that never change."""
    key = (request.script_root, endpoint, tuple(sorted(values.items())))
    found = _BUILT.get(key)
    if found is None:
        found = _BUILT[key] = url_for(endpoint, **values)
    return found


def init_app(app: Flask) -> None:
    """Offer frame_url to templates."""
    app.add_template_global(frame_url)
