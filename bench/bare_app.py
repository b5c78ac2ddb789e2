"""The bare page every web benchmark compares to: what Flask costs with no Guichet in it.

One page that runs one 20-row query on the same database as Guichet and renders a
5-field WTForms form in a minimal HTML page: no DSFR frame, no extensions, no session,
no login, no after-request hooks. Served by gunicorn as `bench.bare_app:app`, with the
database URL in DATABASE_URL.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, render_template
from wtforms import DateField, EmailField, Form, SelectField, StringField
from wtforms.validators import DataRequired, Email

# 20 rows from the database itself, whatever its tables hold (the demo school has fewer
# than 20 of anything): a recursive CTE both SQLite and PostgreSQL run as is.
TWENTY_ROWS = sa.text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20) "
    "SELECT i, 'Ligne ' || i AS label FROM n"
)

PAGE = """<!doctype html>
<html lang="fr">
<head><meta charset="utf-8"><title>Page nue</title></head>
<body>
<h1>Page nue</h1>
<ul>{% for row in rows %}<li>{{ row.i }} {{ row.label }}</li>{% endfor %}</ul>
<form method="post" novalidate>
{% for field in form %}<p>{{ field.label }} {{ field() }}</p>
{% endfor %}<button type="submit">Envoyer</button>
</form>
</body>
</html>
"""


class ContactForm(Form):
    """Five typed fields, as a workflow step would have."""

    last_name = StringField("Nom", validators=[DataRequired()])
    first_name = StringField("Prénom", validators=[DataRequired()])
    email = EmailField("Adresse électronique", validators=[DataRequired(), Email()])
    birth_date = DateField("Date de naissance")
    relation = SelectField("Lien", choices=[("mere", "Mère"), ("pere", "Père"), ("autre", "Autre")])


def create_app(database_url: str) -> Flask:
    """Build the bare app on that database (its pool is opened in each worker)."""
    app = Flask(__name__)
    engine = sa.create_engine(database_url, pool_pre_ping=True)
    template = app.jinja_env.from_string(PAGE)  # compiled once, as a template file would be

    @app.get("/")
    def page() -> str:
        with engine.connect() as conn:
            rows = conn.execute(TWENTY_ROWS).all()
        return render_template(template, rows=rows, form=ContactForm())

    return app


app = create_app(os.environ.get("DATABASE_URL", "sqlite://"))
