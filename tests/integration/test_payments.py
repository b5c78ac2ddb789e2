"""Paying invoices online through the sandbox bank: the parent's pages, the bank's
notification and return, tickets, re-checks, reminders, and who may pay what."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from payment_support import (
    ACCEPTED,
    LOST_NOTIFICATION,
    REFUSED,
    Payer,
    emails,
    payments,
    text,
    today,
)
from support import csrf_token

from extensions import db
from jobs import payments as payment_jobs
from models import (
    Account,
    PaymentStatus,
    SandboxOperation,
    WorkflowInstance,
)
from models.base import utcnow
from services.payments import checkout
from services.payments.gateway import PARIS
from services.payments.reminders import send_reminders

# -- the invoices page ---------------------------------------------------------------------


def test_the_family_sees_its_invoices_with_what_to_do_for_each(client, family):
    Payer(client, "l.legall")
    page = text(client.get("/factures").get_data(as_text=True))
    assert "F-001" in page and "F-002" in page and "F-003" in page
    assert "F-004" not in page  # another family's
    assert page.count("PAYER") == 1  # only the payable one, within its due date
    assert "Échue" in page and "agent-comptable@example.org" in page
    assert "1 rue des Écoles" in page  # where to write about the past-due one
    assert "Prélèvement" in page


def test_payer_waits_for_a_confirmed_email(client, family):
    account = db.session.scalars(db.select(Account).filter_by(identifiant="l.legall")).one()
    account.email_confirmed_at = None
    db.session.commit()
    payer = Payer(client, "l.legall")
    page = text(client.get("/factures").get_data(as_text=True))
    assert "PAYER" not in page
    assert "Confirmez votre adresse électronique" in page
    assert payer.start(family["payable"]).headers["Location"].endswith("/compte/")
    assert payments() == []


# -- paying ---------------------------------------------------------------------------------


def test_a_partial_payment_then_the_rest(client, family):
    payer = Payer(client, "l.legall")
    page = text(payer.pay(family["payable"], "40,00"))
    assert "Paiement accepté" in page
    first = payments()[0]
    year = first.paid_at.astimezone(PARIS).year
    assert first.status is PaymentStatus.PAID and first.ticket_number == f"{year}-000001"
    assert f"Ticket de paiement n° {year}-000001" in page
    assert "Reste à payer sur cette facture : 60,00 €" in page

    mail = emails("linh.nguyen@example.org")[-1]
    assert mail.subject.startswith(f"Ticket de paiement n° {year}-000001")
    assert "40,00" in mail.body and mail.html
    assert mail.attachments[0].content_type == "application/pdf"
    assert mail.attachments[0].data.startswith(b"%PDF")

    invoices = text(client.get("/factures").get_data(as_text=True))
    assert "Partiellement payée" in invoices and "60,00 €" in invoices

    page = text(payer.pay(family["payable"], "60,00"))
    assert "Paiement accepté" in page and f"{year}-000002" in page
    invoices = text(client.get("/factures").get_data(as_text=True))
    assert "PAYER" not in invoices
    assert "Payée" in invoices


def test_the_ticket_is_on_screen_and_as_pdf_for_the_family_only(client, family):
    payer = Payer(client, "l.legall")
    payer.pay(family["payable"], "25,50")
    payment = payments()[0]
    shown = text(client.get(f"/paiements/{payment.public_id}").get_data(as_text=True))
    assert payment.ticket_number in shown and "25,50 €" in shown and "Maël" in shown
    pdf = client.get(f"/paiements/{payment.public_id}/ticket.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    history = text(client.get("/paiements").get_data(as_text=True))
    assert payment.ticket_number in history and "Payé" in history

    # The other parent of the same child sees it; another family does not.
    client.post("/deconnexion", data={"csrf_token": csrf_token(client, "/paiements")})
    Payer(client, "e.legall")
    assert client.get(f"/paiements/{payment.public_id}").status_code == 200
    client.post("/deconnexion", data={"csrf_token": csrf_token(client, "/paiements")})
    Payer(client, "k.benali")
    assert client.get(f"/paiements/{payment.public_id}").status_code == 403
    assert client.get(f"/paiements/{payment.public_id}/ticket.pdf").status_code == 403
    assert payment.ticket_number not in client.get("/paiements").get_data(as_text=True)


def test_a_refused_card_takes_nothing(client, family):
    payer = Payer(client, "l.legall")
    html = payer.pay(family["payable"], "100,00", card=REFUSED)
    assert "fr-alert--warning" in html  # not the green box of a success
    assert "Paiement refusé" in text(html)
    assert payments()[0].status is PaymentStatus.REFUSED
    assert payments()[0].ticket_number is None
    assert emails("linh.nguyen@example.org") == []
    assert text(client.get("/factures").get_data(as_text=True)).count("PAYER") == 1


def test_abandoning_at_the_bank_releases_the_reservation(client, family):
    payer = Payer(client, "l.legall")
    page = text(payer.pay(family["payable"], "100,00", card=None))
    assert "Paiement non effectué" in page
    assert payments()[0].status is PaymentStatus.ABANDONED
    # The whole balance may be paid again at once.
    assert "Paiement accepté" in text(payer.pay(family["payable"], "100,00"))


def test_an_unknown_card_is_refused_by_the_test_bank(client, family):
    payer = Payer(client, "l.legall")
    _, bank_path = payer.to_bank(family["payable"], "10,00")
    token = csrf_token(client, bank_path)
    answer = client.post(bank_path, data={"csrf_token": token, "carte": "1234"})
    assert answer.status_code == 422
    assert "pas une carte de la banque de test" in answer.get_data(as_text=True)
    assert payments()[0].status is PaymentStatus.PENDING


def test_the_amount_must_fit_the_balance(client, family):
    payer = Payer(client, "l.legall")
    step = payer.start(family["payable"]).headers["Location"]
    for typed in ("100,01", "0,50", "-5", "abc"):
        answer = payer.submit(step, montant=typed)
        assert answer.status_code == 200, typed  # the same page, with the error
        assert "fr-message--error" in answer.get_data(as_text=True), typed
    assert payments() == []


def test_the_amount_is_checked_again_under_the_lock(client, family, app):
    payer = Payer(client, "l.legall")
    step = payer.start(family["payable"]).headers["Location"]
    assert payer.submit(step, montant="80,00").status_code == 302
    summary = text(client.get(step).get_data(as_text=True))
    assert "Il restera ensuite 20,00 € à payer" in summary
    assert "Payer 80,00 € par carte bancaire" in summary
    # Meanwhile the other parent reserved 50 € of the same invoice.
    erwan = db.session.scalars(db.select(Account).filter_by(identifiant="e.legall")).one()
    checkout.reserve(family["payable"].id, erwan, 5000, minimum_cents=100, today=today())
    db.session.commit()
    answer = payer.submit(step)
    assert answer.status_code == 302
    page = text(client.get(step).get_data(as_text=True))
    assert "Vous pouvez payer au plus 50,00 €" in page
    assert [p.amount_cents for p in payments()] == [5000]


# -- the bank's messages ------------------------------------------------------------------


def test_a_repeated_notification_changes_nothing(client, family):
    payer = Payer(client, "l.legall")
    _, bank_path = payer.to_bank(family["payable"], "30,00")
    payer.at_bank(bank_path, ACCEPTED)  # the test bank notified already
    payment = payments()[0]
    assert payment.status is PaymentStatus.PAID
    for _ in range(2):
        answer = client.post("/paiements/notification", data={"idOp": payment.id_op})
        assert answer.status_code == 200
    assert len(emails("linh.nguyen@example.org")) == 1
    assert [p.ticket_number for p in payments()] == [payment.ticket_number]


def test_a_forged_notification_is_not_believed(client, family):
    payer = Payer(client, "l.legall")
    payer.to_bank(family["payable"], "30,00")
    payment = payments()[0]
    assert client.post("/paiements/notification", data={"idOp": "forged"}).status_code == 404
    # A notification for a real operation is only a cue: the bank says it is not paid.
    assert client.post("/paiements/notification", data={"idOp": payment.id_op}).status_code == 200
    assert payments()[0].status is PaymentStatus.PENDING
    # Nor is the browser: coming back without paying settles nothing.
    page = text(
        client.get(f"/paiements/{payment.public_id}/retour", follow_redirects=True).get_data(
            as_text=True
        )
    )
    assert "Paiement en cours de vérification" in page
    assert payments()[0].status is PaymentStatus.PENDING


def test_a_bank_answer_with_another_amount_puts_the_payment_in_doubt(client, family):
    payer = Payer(client, "l.legall")
    payer.to_bank(family["payable"], "30,00")
    payment = payments()[0]
    operation = db.session.get(SandboxOperation, payment.id_op)
    operation.amount_cents = 100  # what a tampered bank answer would say
    operation.result, operation.authorisation, operation.decided_at = "P", "123456", utcnow()
    db.session.commit()
    client.post("/paiements/notification", data={"idOp": payment.id_op})
    payment = payments()[0]
    assert payment.status is PaymentStatus.PENDING and payment.ticket_number is None
    assert "1,00" in payment.anomaly and "30,00" in payment.anomaly
    assert emails("linh.nguyen@example.org") == []


def test_a_lost_notification_is_settled_by_the_check_job(client, family, app):
    payer = Payer(client, "l.legall")
    step, bank_path = payer.to_bank(family["payable"], "30,00")
    payer.at_bank(bank_path, LOST_NOTIFICATION)  # and the parent closes the tab
    assert payments()[0].status is PaymentStatus.PENDING
    assert payment_jobs.check_due() == 0  # too early: the notification may still come
    payment = payments()[0]
    payment.created_at = utcnow() - timedelta(minutes=3)
    db.session.commit()
    assert payment_jobs.check_due() == 1
    payment = payments()[0]
    assert payment.status is PaymentStatus.PAID and payment.ticket_number
    assert len(emails("linh.nguyen@example.org")) == 1
    assert "Paiement accepté" in text(client.get(step).get_data(as_text=True))


def test_a_payment_never_finished_expires_and_frees_the_balance(client, family):
    payer = Payer(client, "l.legall")
    step, _ = payer.to_bank(family["payable"], "100,00")
    payment = payments()[0]
    payment.created_at = payment.opened_at = utcnow() - timedelta(minutes=21)
    db.session.commit()
    assert payment_jobs.check_due() == 1
    assert payments()[0].status is PaymentStatus.EXPIRED
    assert "Paiement non effectué" in text(client.get(step).get_data(as_text=True))
    assert text(client.get("/factures").get_data(as_text=True)).count("PAYER") == 1


def test_the_waiting_page_refreshes_itself(client, family):
    payer = Payer(client, "l.legall")
    step, _ = payer.to_bank(family["payable"], "30,00")
    payment = payments()[0]
    client.get(f"/paiements/{payment.public_id}/retour")  # back before paying
    html = client.get(step).get_data(as_text=True)
    assert 'http-equiv="refresh"' in html and "en cours de vérification" in html


def test_a_bank_that_cannot_open_the_payment_loses_nothing(make_app, family):
    app = make_app(PAYMENT_BACKEND="payfip", PAYFIP_CLIENT_NUMBER="123456",
                   PAYFIP_SOAP_URL="http://127.0.0.1:9/tpa/services/securite",
                   PAYFIP_TIMEOUT_SECONDS=2)  # fmt: skip
    client = app.test_client()
    with app.app_context():
        payer = Payer(client, "l.legall")
        step = payer.start(family["payable"]).headers["Location"]
        payer.submit(step, montant="30,00")
        payer.submit(step)
        opened = client.get(client.get(step).headers["Location"], follow_redirects=True)
        page = text(opened.get_data(as_text=True))
        assert "Paiement impossible pour le moment" in page
        assert "Aucune somme n’a été prélevée" in page
        assert payments()[0].status is PaymentStatus.FAILED


# -- who may pay what -----------------------------------------------------------------------


def test_another_familys_invoice_is_forbidden(client, family):
    payer = Payer(client, "k.benali")
    assert payer.start(family["payable"]).status_code == 403
    assert client.post(f"/factures/{family['payable'].id}/payer").status_code in (400, 403)
    assert payments() == []


def test_another_familys_payment_cannot_be_sent_to_the_bank(client, family):
    payer = Payer(client, "l.legall")
    step = payer.start(family["payable"]).headers["Location"]
    payer.submit(step, montant="30,00")
    payer.submit(step)
    ref = payments()[0].public_id
    client.post("/deconnexion", data={"csrf_token": csrf_token(client, "/factures")})
    Payer(client, "k.benali")
    assert client.get(f"/paiements/{ref}/banque").status_code == 403
    assert client.get(step).status_code == 403
    assert payments()[0].id_op is None


def test_two_parents_cannot_overpay_at_the_same_moment(app, family, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks need PostgreSQL")
    invoice_id = family["payable"].id
    accounts = {
        name: db.session.scalars(db.select(Account).filter_by(identifiant=name)).one().id
        for name in ("l.legall", "e.legall")
    }
    db.session.remove()
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def reserve(name: str) -> None:
        with app.app_context():
            account = db.session.get(Account, accounts[name])
            barrier.wait()
            try:
                checkout.reserve(invoice_id, account, 6000, minimum_cents=100, today=today())
                # Hold the lock a moment, as a request would until its commit.
                threading.Event().wait(0.2)
                db.session.commit()
                outcomes[name] = "reserved"
            except checkout.PaymentError as error:
                db.session.rollback()
                outcomes[name] = str(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=reserve, args=(name,)) for name in accounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values())[1] == "reserved"
    refused = next(v for v in outcomes.values() if v != "reserved")
    assert "au plus 40,00\xa0€" in refused
    assert [p.amount_cents for p in payments(status=PaymentStatus.PENDING)] == [6000]


# -- reminders ------------------------------------------------------------------------------


def test_reminders_go_once_and_never_for_a_paid_invoice(client, family):
    soon = family["payable"]
    soon.due_on = today() + timedelta(days=5)
    family["benali"].due_on = today() + timedelta(days=3)
    db.session.commit()
    Payer(client, "k.benali").pay(family["benali"], "187,20")
    assert send_reminders(today()) == 1
    db.session.commit()
    linh = [m for m in emails("linh.nguyen@example.org") if "F-001" in m.subject]
    assert len(linh) == 1 and "100,00" in linh[0].body
    assert len([m for m in emails("erwan.legall@example.org") if "F-001" in m.subject]) == 1
    assert not [m for m in emails("karim.benali@example.org") if "échéance" in m.body]
    assert send_reminders(today()) == 0  # once per invoice


def test_the_payment_workflow_is_not_offered_without_an_invoice(client, family):
    Payer(client, "l.legall")
    assert "Paiement d’une facture" not in client.get("/demarches/").get_data(as_text=True)
    rows = db.session.scalars(db.select(WorkflowInstance)).all()
    assert rows == []


def test_a_new_due_date_brings_a_new_reminder(family):
    from services.invoice_import import import_invoices

    invoice = family["payable"]
    invoice.due_on = today() + timedelta(days=2)
    db.session.commit()
    assert send_reminders(today()) == 1
    db.session.commit()
    later = today() + timedelta(days=5)
    row = (
        "numero;eleve;objet;montant;emission;echeance;paiement_en_ligne\n"
        f"F-001;2415301;{invoice.label};100,00;{invoice.issued_on:%d/%m/%Y};{later:%d/%m/%Y};oui\n"
    )
    assert import_invoices(row.encode(), invoice.school).updated == 1
    db.session.commit()
    assert send_reminders(today()) == 1


def test_the_commands_send_reminders_and_settle_lost_notifications(client, family, runner):
    family["payable"].due_on = today() + timedelta(days=3)
    db.session.commit()
    result = runner.invoke(args=["invoices", "remind"])
    assert result.exit_code == 0 and "1 facture(s) rappelée(s)" in result.output
    assert runner.invoke(args=["invoices", "remind"]).output.startswith("0 facture")

    payer = Payer(client, "l.legall")
    _, bank_path = payer.to_bank(family["payable"], "30,00")
    payer.at_bank(bank_path, LOST_NOTIFICATION)
    payment = payments()[0]
    payment.created_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    result = runner.invoke(args=["payments", "check"])
    assert result.exit_code == 0 and result.output.startswith("1 paiement(s) réglé(s)")
    assert payments()[0].status is PaymentStatus.PAID


# -- what the review of the payment code found ---------------------------------------------


def test_a_summary_confirmed_long_ago_does_not_reach_the_bank(client, family):
    payer = Payer(client, "l.legall")
    step = payer.start(family["payable"]).headers["Location"]
    payer.submit(step, montant="30,00")
    payer.submit(step)
    payment = payments()[0]
    payment.created_at = utcnow() - timedelta(minutes=11)  # the tab stayed open
    db.session.commit()
    page = text(
        client.get(f"/paiements/{payment.public_id}/banque", follow_redirects=True).data.decode()
    )
    assert payments()[0].status is PaymentStatus.EXPIRED and payments()[0].id_op is None
    assert "Paiement non effectué" in page
    assert text(client.get("/factures").get_data(as_text=True)).count("PAYER") == 1


def test_money_taken_after_the_payment_expired_still_counts(client, family):
    from services.accounting import watched_payments

    payer = Payer(client, "l.legall")
    payer.to_bank(family["payable"], "30,00")
    payment = payments()[0]
    payment.created_at = payment.opened_at = utcnow() - timedelta(minutes=25)
    db.session.commit()
    assert payment_jobs.check_due() == 1
    assert payments()[0].status is PaymentStatus.EXPIRED
    # The parent was still on the bank's page, and pays: the bank notifies.
    operation = db.session.get(SandboxOperation, payment.id_op)
    operation.result, operation.authorisation, operation.decided_at = "P", "654321", utcnow()
    db.session.commit()
    assert client.post("/paiements/notification", data={"idOp": payment.id_op}).status_code == 200
    payment = payments()[0]
    assert payment.status is PaymentStatus.PAID and payment.ticket_number
    assert "trop-perçu" in payment.anomaly
    assert len(emails("linh.nguyen@example.org")) == 1  # the family gets its ticket
    assert [w.payment.id for w in watched_payments([payment.school_id])] == [payment.id]


def test_a_payment_may_not_leave_less_than_one_euro_to_pay(client, family):
    payer = Payer(client, "l.legall")
    step = payer.start(family["payable"]).headers["Location"]
    payer.submit(step, montant="99,50")
    payer.submit(step)
    assert "laissez au moins 1,00 € à payer plus tard" in text(client.get(step).data.decode())
    assert payments() == []


def test_a_balance_under_one_euro_is_settled_with_the_accountant(client, family):
    from models import Payment, PaymentMethod

    invoice = family["payable"]
    db.session.add(
        Payment(school_id=invoice.school_id, invoice=invoice, amount_cents=9950,
                method=PaymentMethod.CHEQUE, status=PaymentStatus.PAID, paid_at=utcnow())
    )  # fmt: skip
    db.session.commit()
    Payer(client, "l.legall")
    page = text(client.get("/factures").get_data(as_text=True))
    assert "PAYER" not in page
    assert "inférieur au minimum d'un paiement en ligne (1,00 €)" in page


def test_a_submit_that_loses_the_race_keeps_nothing_it_reserved(client, family, monkeypatch):
    from engine import ConflictError
    from services import workflows

    payer = Payer(client, "l.legall")
    step = payer.start(family["payable"]).headers["Location"]
    payer.submit(step, montant="30,00")
    real_submit = workflows.submit

    def submit_then_lose(row, values, actor):
        real_submit(row, values, actor)  # the actions ran: a payment was reserved
        raise ConflictError("another request moved the instance first")

    monkeypatch.setattr(workflows, "submit", submit_then_lose)
    answer = payer.submit(step)
    assert answer.status_code == 302
    assert payments() == []


def test_one_payment_that_cannot_be_checked_does_not_stop_the_others(client, family, monkeypatch):
    payer = Payer(client, "l.legall")
    for amount in ("10,00", "20,00"):
        _, bank_path = payer.to_bank(family["payable"], amount)
        payer.at_bank(bank_path, LOST_NOTIFICATION)
    first, second = payments()
    for payment in (first, second):
        payment.created_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    real_check = checkout.check

    def check_breaking_on_the_first(payment, *args, **kwargs):
        if payment.id == first.id:
            raise RuntimeError("the PDF of this one cannot be drawn")
        return real_check(payment, *args, **kwargs)

    monkeypatch.setattr(checkout, "check", check_breaking_on_the_first)
    assert payment_jobs.check_due() == 1
    assert [p.status for p in payments()] == [PaymentStatus.PENDING, PaymentStatus.PAID]


def test_a_reimport_cannot_undo_what_families_paid(client, family):
    from services.invoice_import import import_invoices

    Payer(client, "l.legall").pay(family["payable"], "40,00")
    invoice = family["payable"]
    header = "numero;eleve;objet;montant;emission;echeance;paiement_en_ligne\n"
    dates = f"{invoice.issued_on:%d/%m/%Y};{invoice.due_on:%d/%m/%Y}"
    lower = f"F-001;2415301;{invoice.label};30,00;{dates};oui\n"
    other_pupil = f"F-001;2415304;{invoice.label};100,00;{dates};oui\n"
    for row, reason in ((lower, "déjà payé ou en cours (40,00\xa0€)"), (other_pupil, "l'élève")):
        report = import_invoices((header + row).encode(), invoice.school)
        assert not report.imported
        assert reason in report.rejected[0].reason and report.rejected[0].line == 2
        db.session.rollback()
    db.session.expire_all()
    assert (invoice.amount_cents, invoice.pupil.first_name) == (10000, "Maël")
