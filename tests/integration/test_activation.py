"""Parent account activation as ÉduConnect does it, and the recovery procedures."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from support import csrf_token, login

from extensions import db
from models import (
    Account,
    Channel,
    OutboxMessage,
    Role,
    WorkflowInstance,
    WorkflowTimer,
)
from services.workflow_versions import sync_files

PASSWORD = "Capucine&Gaspard-36"


@pytest.fixture
def family(app, make_school, make_pupil, make_guardian):
    """The Robin family: two legal guardians sharing one mobile, two children; and others."""
    school = make_school()
    capucine = make_pupil(school, "2298713", "ROBIN", "Capucine", "5B", birth_date=date(2013, 9, 3))
    gaspard = make_pupil(school, "2087422", "ROBIN", "Gaspard", "3 A", birth_date=date(2011, 6, 15))
    hugo = make_pupil(
        school, "2087423", "MARTIN", "Hugo", birth_date=date(2011, 8, 9), left_on=date(2025, 9, 12)
    )
    robin = {"mobile": "+33639980110", "email": "famille.robin@example.org"}
    make_guardian(school, "880110", "ROBIN", "Hélène", (capucine, True), (gaspard, True), **robin)
    make_guardian(school, "880111", "ROBIN", "François", (capucine, True), (gaspard, True), **robin)
    # His only child has left the school; she is a contact, not a legal guardian.
    make_guardian(school, "880113", "MARTIN", "Julien", (hugo, True), mobile="+33639980113")
    make_guardian(school, "880106", "HADDAD", "Farida", (capucine, False), mobile="+33639980106")
    sync_files()
    db.session.commit()
    return school


class Visit:
    """A person going through a procedure with the test client, one page at a time."""

    def __init__(self, client, key: str) -> None:
        self.client = client
        token = csrf_token(client, f"/demarches/nouvelle/{key}")
        self.url = client.post(f"/demarches/{key}/commencer", data={"csrf_token": token}).headers[
            "Location"
        ]

    def page(self) -> str:
        return self.client.get(self.url).get_data(as_text=True)

    def submit(self, **fields) -> str:
        fields.setdefault("csrf_token", csrf_token(self.client, self.url))
        response = self.client.post(self.url, data=fields, follow_redirects=True)
        return response.get_data(as_text=True)

    def press(self, event: str) -> str:
        token = csrf_token(self.client, self.url)
        response = self.client.post(
            f"{self.url}/evenement/{event}", data={"csrf_token": token}, follow_redirects=True
        )
        return response.get_data(as_text=True)  # fmt: skip

    def row(self) -> WorkflowInstance:
        db.session.expire_all()
        return db.session.scalars(
            db.select(WorkflowInstance).filter_by(public_id=self.url.rsplit("/", 1)[1])
        ).one()


def sms_to(number: str) -> list[OutboxMessage]:
    return db.session.scalars(
        db.select(OutboxMessage)
        .filter_by(channel=Channel.SMS, to=number)
        .order_by(OutboxMessage.id)
    ).all()


def last_code(number: str = "+33639980110") -> str:
    return re.search(r"\b(\d{6})\b", sms_to(number)[-1].body).group(1)


def emails_to(address: str) -> list[OutboxMessage]:
    return db.session.scalars(
        db.select(OutboxMessage)
        .filter_by(channel=Channel.EMAIL, to=address)
        .order_by(OutboxMessage.id)
    ).all()


HELENE = {"nom": "robin", "prenom": "helene", "portable": "06 39 98 01 10"}


def _activate(client, who=HELENE, dates=("2011-06-15", "2013-09-03"), password=PASSWORD,
              email="famille.robin@example.org") -> Visit:  # fmt: skip
    visit = Visit(client, "activation")
    visit.submit(profil="responsable")
    assert "Code de sécurité" in visit.submit(**who)
    assert "Vos enfants" in visit.submit(code=last_code())
    page = visit.submit(naissances__0=dates[0], naissances__1=dates[1])
    assert "Votre mot de passe" in page, page
    page = visit.submit(nouveau_mot_de_passe=password, nouveau_mot_de_passe__confirmation=password)
    assert "Bien prendre note de votre identifiant" in page, page
    visit.submit(identifiant_note="y")
    assert "Confirmez votre adresse électronique" in visit.submit(courriel=email)
    return visit


def _a_while_later() -> None:
    """Let the per-number SMS interval pass, as it would between two visits."""
    for message in db.session.scalars(db.select(OutboxMessage)):
        message.created_at -= timedelta(minutes=2)
    db.session.commit()


def _confirm_link(address: str) -> str:
    body = emails_to(address)[-1].body
    return re.search(r"http://127\.0\.0\.1:5000(/compte/confirmer/\S+)", body).group(1)


def test_a_parent_activates_an_account_alone(client, family):
    visit = _activate(client)
    account = db.session.scalars(db.select(Account).filter_by(identifiant="h.robin")).one()
    assert account.email_confirmed_at is None
    link = _confirm_link("famille.robin@example.org")
    page = client.get(link).get_data(as_text=True)
    assert "Confirmer mon adresse" in page  # a click is needed: mail scanners only fetch
    client.post(link, data={"csrf_token": csrf_token(client, link)})
    db.session.refresh(account)
    assert account.email == "famille.robin@example.org" and account.email_confirmed_at
    assert visit.row().step == "active"
    assert login(client, "h.robin", PASSWORD).headers["Location"] == "/compte/"
    overview = client.get("/compte/").get_data(as_text=True)
    assert "Capucine ROBIN" in overview and "Gaspard ROBIN" in overview
    assert "Hugo" not in overview


def test_two_guardians_of_a_child_each_get_their_own_account(client, family, app):
    _activate(client)
    _a_while_later()
    other = app.test_client()
    _activate(other, who={"nom": "Robin", "prenom": "François", "portable": "+33 6 39 98 01 10"},
              password="Deux-Parents-36!x")  # fmt: skip
    identifiants = set(db.session.scalars(db.select(Account.identifiant)))
    assert identifiants == {"h.robin", "f.robin"}


@pytest.mark.parametrize(
    "who",
    [
        {"nom": "Robin", "prenom": "Hélène", "portable": "06 39 98 01 99"},  # wrong mobile
        {"nom": "Dupont", "prenom": "Jeanne", "portable": "06 39 98 01 10"},  # nobody
        {"nom": "Haddad", "prenom": "Farida", "portable": "06 39 98 01 06"},  # a contact only
        {"nom": "Martin", "prenom": "Julien", "portable": "06 39 98 01 13"},  # child has left
    ],
)
def test_a_failed_match_says_nothing_about_who_exists_and_sends_nothing(client, family, who):
    visit = Visit(client, "activation")
    visit.submit(profil="responsable")
    page = visit.submit(**who)
    assert "Nous n’avons pas pu vous identifier" in page
    assert "numéro de portable que vous avez donné" in page
    assert db.session.query(OutboxMessage).filter_by(channel=Channel.SMS).count() == 0


def test_names_match_whatever_the_case_accents_hyphens_and_spaces(client, family):
    visit = Visit(client, "activation")
    visit.submit(profil="responsable")
    page = visit.submit(nom="  ROBIN ", prenom="HELENE", portable="+33639980110")
    assert "Code de sécurité" in page


def test_three_wrong_codes_void_the_code(client, family):
    visit = Visit(client, "activation")
    visit.submit(profil="responsable")
    visit.submit(**HELENE)
    good = last_code()
    wrong = "000000" if good != "000000" else "111111"
    assert "Il vous reste 2 essais" in visit.submit(code=wrong)
    assert "Il vous reste 1 essai" in visit.submit(code=wrong)
    assert "Trop d'essais" in visit.submit(code=wrong).replace("&#39;", "'")
    page = visit.submit(code=good)  # even the right code is refused now
    assert "Code de sécurité" in page and "Vos enfants" not in page


def test_resending_the_code_is_limited_per_number(client, family):
    visit = Visit(client, "activation")
    visit.submit(profil="responsable")
    visit.submit(**HELENE)
    page = visit.press("renvoyer").replace("&#39;", "'")
    assert "attendez 60 secondes" in page
    assert len(sms_to("+33639980110")) == 1
    # An hour's allowance used up: five codes already went to this number.
    for message in sms_to("+33639980110"):
        message.created_at -= timedelta(minutes=2)
    earlier = visit.row().created_at - timedelta(minutes=5)
    for _ in range(4):
        db.session.add(
            OutboxMessage(
                channel=Channel.SMS,
                to="+33639980110",
                body="x",
                template="code",
                created_at=earlier,
            )
        )
    db.session.commit()
    assert "5 codes en une heure" in visit.press("renvoyer")


def test_an_expired_code_is_refused(client, family):
    visit = Visit(client, "activation")
    visit.submit(profil="responsable")
    visit.submit(**HELENE)
    row = visit.row()
    row.data = {**row.data, "code_expires_at": "2000-01-01T00:00:00+01:00"}
    db.session.commit()
    assert "Ce code a expiré" in visit.submit(code=last_code())


def test_wrong_birth_dates_three_times_stop_the_activation(client, family):
    visit = Visit(client, "activation")
    visit.submit(profil="responsable")
    visit.submit(**HELENE)
    visit.submit(code=last_code())
    for _ in range(2):
        page = visit.submit(naissances__0="2011-06-16", naissances__1="2013-09-03")
        assert "ne correspondent pas" in page
    assert "Vérification impossible" in visit.submit(
        naissances__0="2011-06-16", naissances__1="2013-09-03"
    )
    assert db.session.query(Account).count() == 0


def test_a_guardian_with_an_account_is_sent_to_recovery_after_the_code(client, family, app):
    _activate(client)
    _a_while_later()
    visit = Visit(app.test_client(), "activation")
    visit.submit(profil="responsable")
    visit.submit(**HELENE)
    assert "Vous avez déjà un compte" in visit.submit(code=last_code())


def test_pupils_are_told_to_use_their_school_credentials(client, family):
    visit = Visit(client, "activation")
    assert "Vous êtes élève" in visit.submit(profil="eleve")


def test_another_visitor_cannot_advance_an_activation(client, family, app):
    visit = Visit(client, "activation")
    intruder = app.test_client()
    token = csrf_token(intruder, "/demarches/nouvelle/activation")
    assert intruder.get(visit.url).status_code == 403
    assert (
        intruder.post(visit.url, data={"profil": "responsable", "csrf_token": token}).status_code
        == 403
    )


def test_the_secretariat_checks_an_identity_and_the_parent_resumes(client, family, app, make_staff):
    visit = Visit(client, "activation")
    visit.submit(profil="responsable")
    visit.submit(nom="Robin", prenom="Hélène", portable="06 39 98 01 99")
    page = visit.submit(
        contact_courriel="helene.robin@example.net", precision="Mère de Capucine, 5B"
    )
    assert "entre les mains de l'établissement" in page.replace("&#39;", "'")
    make_staff(email="secretariat@example.org", role=Role.ADMIN, name="Sam Secrétariat")
    staff = app.test_client()
    login(staff, "secretariat@example.org")
    row = visit.row()
    task = f"/espace/taches/{row.public_id}"
    inbox = staff.get("/espace/taches/", follow_redirects=True).get_data(as_text=True)
    assert "Vérifier une identité — Hélène Robin" in inbox  # in the staff inbox, as a task
    assert "06 39 98 01 99" in staff.get(task).get_data(
        as_text=True
    ) or "+33639980199" in staff.get(task).get_data(as_text=True)
    staff.post(
        task,
        data={
            "decision": "corrige",
            "reponse": "Numéro mis à jour.",
            "csrf_token": csrf_token(staff, task),
        },
    )
    [mail] = emails_to("helene.robin@example.net")
    resume = re.search(r"http://127\.0\.0\.1:5000(/demarches/reprendre/\S+)", mail.body).group(1)
    phone = app.test_client()  # the parent opens the email on another device
    landed = phone.get(resume, follow_redirects=True).get_data(as_text=True)
    assert "Je n’ai pas de compte" in landed
    assert phone.get("/demarches/reprendre/forged").status_code == 404  # fmt: skip


def test_identifiant_oublie_answers_the_same_and_texts_only_a_match(client, family, app):
    _activate(client)
    _a_while_later()
    sent_before = len(sms_to("+33639980110"))
    visit = Visit(app.test_client(), "identifiant_oublie")
    page = visit.submit(**HELENE)
    assert "Si ces informations correspondent à un compte" in page
    assert "h.robin" in sms_to("+33639980110")[-1].body
    assert len(sms_to("+33639980110")) == sent_before + 1
    stranger = Visit(app.test_client(), "identifiant_oublie")
    same = stranger.submit(nom="Dupont", prenom="Jeanne", portable="06 39 98 01 77")
    assert "Si ces informations correspondent à un compte" in same
    assert sms_to("+33639980177") == []


def test_mot_de_passe_oublie_by_sms_code(client, family, app):
    _activate(client)
    _a_while_later()
    visit = Visit(app.test_client(), "mot_de_passe_oublie")
    assert "Code de sécurité" in visit.submit(identifiant="h.robin", canal="sms")
    assert "Nouveau mot de passe" in visit.submit(code=last_code())
    new = "Nouveau-Depart-2026!"
    assert "Mot de passe changé" in visit.submit(
        nouveau_mot_de_passe=new, nouveau_mot_de_passe__confirmation=new
    )
    assert login(app.test_client(), "h.robin", new).status_code == 302
    assert login(app.test_client(), "h.robin", PASSWORD).status_code == 200  # old one refused


def test_mot_de_passe_oublie_for_an_unknown_identifiant_looks_the_same(client, family):
    visit = Visit(client, "mot_de_passe_oublie")
    page = visit.submit(identifiant="x.inconnu", canal="sms")
    assert "Code de sécurité" in page and "Si ce compte existe" in page
    assert db.session.query(OutboxMessage).count() == 0


def test_changing_the_email_needs_a_new_confirmation(client, family):
    _activate(client)
    link = _confirm_link("famille.robin@example.org")
    client.post(link, data={"csrf_token": csrf_token(client, link)})
    login(client, "h.robin", PASSWORD)
    token = csrf_token(client, "/compte/")
    client.post("/compte/courriel", data={"email": "helene@example.net", "csrf_token": token})
    account = db.session.scalars(db.select(Account).filter_by(identifiant="h.robin")).one()
    assert (account.email, account.new_email) == ("famille.robin@example.org", "helene@example.net")
    new_link = _confirm_link("helene@example.net")
    client.post(new_link, data={"csrf_token": csrf_token(client, new_link)})
    db.session.refresh(account)
    assert (account.email, account.new_email) == ("helene@example.net", None)
    assert client.get(link).status_code == 404  # the old link was superseded


def test_the_code_step_has_no_timer_to_lose(client, family):
    visit = Visit(client, "activation")
    visit.submit(profil="responsable")
    visit.submit(**HELENE)
    assert db.session.query(WorkflowTimer).count() == 0


def test_five_failed_sign_ins_lock_a_parent_account(client, family, app):
    _activate(client)
    stranger = app.test_client()
    for _ in range(5):
        login(stranger, "h.robin", "Not-the-password-1")
    page = login(stranger, "h.robin", PASSWORD).get_data(as_text=True)
    assert "bloqué pendant 15 minutes" in page


def test_mon_compte_changes_the_password_after_checking_the_current_one(client, family, app):
    _activate(client)
    login(client, "h.robin", PASSWORD)
    new = "Autre-Mot-De-Passe-77"
    wrong = {"current": "Pas-le-bon-1234", "password": new, "confirm": new}
    page = client.post(
        "/compte/mot-de-passe", data={**wrong, "csrf_token": csrf_token(client, "/compte/")}
    )
    assert "Le mot de passe actuel est incorrect." in page.get_data(as_text=True)
    right = {**wrong, "current": PASSWORD, "csrf_token": csrf_token(client, "/compte/")}
    assert client.post("/compte/mot-de-passe", data=right).status_code == 302
    assert login(app.test_client(), "h.robin", new).status_code == 302


def test_a_parent_comes_back_days_later_to_where_they_were(client, family, app):
    visit = Visit(client, "activation")
    visit.submit(profil="responsable")
    visit.submit(**HELENE)
    remembered = client.get_cookie("guichet_demarches")
    assert remembered is not None and remembered.http_only
    # The browser was closed: the session is gone, the two-week cookie is still there.
    later = app.test_client()
    later.set_cookie("guichet_demarches", remembered.value)
    start = later.get("/demarches/nouvelle/activation").get_data(as_text=True)
    assert "Reprendre ma démarche" in start
    assert "Code de sécurité" in later.get(visit.url).get_data(as_text=True)
    forged = app.test_client()
    forged.set_cookie("guichet_demarches", "anon:forged")
    assert forged.get(visit.url).status_code == 403
