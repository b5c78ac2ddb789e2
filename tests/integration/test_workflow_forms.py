"""Widgets the form layer builds from field declarations, as a parent sees them."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from forms.workflow import BUILDERS, Input, StepForm


def form_with(field_type: str, **options) -> type[StepForm]:
    spec = Input("champ", "Champ", "", True, None, None, None, options)
    return type("OneFieldForm", (StepForm,), BUILDERS[field_type](spec))


def test_a_select_without_default_offers_a_placeholder_and_requires_a_choice(app):
    choices = [{"value": "a", "label": "Première"}, {"value": "b", "label": "Seconde"}]
    form_class = form_with("choice", widget="select", choices=choices)
    with app.test_request_context(method="POST"):
        form = form_class(formdata=MultiDict({"champ": ""}), meta={"csrf": False})
        assert "Sélectionnez une option" in form.champ()
        assert not form.validate()
        assert form.champ.errors == ["Choisissez une réponse dans la liste."]


def test_a_date_typed_wrong_is_refused_in_french(app):
    form_class = form_with("date")
    with app.test_request_context(method="POST"):
        form = form_class(formdata=MultiDict({"champ": "31/02"}), meta={"csrf": False})
        assert not form.validate()
        assert form.champ.errors[0].startswith("Saisissez une date valide")
