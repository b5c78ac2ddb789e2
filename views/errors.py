"""Error pages in the site's frame, in French."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from extensions import db

MESSAGES = {
    400: (
        "Requête incorrecte",
        "La demande n'a pas pu être traitée. Revenez à la page précédente et réessayez.",
    ),
    403: ("Accès refusé", "Vous n'avez pas accès à cette page."),
    404: (
        "Page non trouvée",
        "La page que vous cherchez est introuvable. Vérifiez l'adresse ou revenez à l'accueil.",
    ),
    405: ("Méthode non autorisée", "Cette action n'est pas possible sur cette page."),
    413: ("Fichier trop volumineux", "Le fichier envoyé dépasse la taille autorisée."),
    429: (
        "Trop de tentatives",
        "Vous avez fait trop de tentatives en peu de temps. "
        "Patientez quelques minutes avant de réessayer.",
    ),
    500: (
        "Erreur inattendue",
        "Désolé, le service a rencontré un problème. "
        "Rien n'a été enregistré : réessayez dans quelques instants.",
    ),
}


def _render(code: int, detail: str | None = None) -> tuple[str, int]:
    title, message = MESSAGES.get(code, MESSAGES[500])
    return render_template(
        "errors/error.html", code=code, title=title, message=message, detail=detail
    ), code


def init_app(app: Flask) -> None:
    """Register the French error pages."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        return _render(
            400,
            "Le formulaire a expiré ou n'a pas été envoyé depuis Guichet. "
            "Rechargez la page et saisissez à nouveau vos informations.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        return _render(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> tuple[str, int]:
        app.logger.exception("unhandled error")
        db.session.rollback()
        return _render(500)
