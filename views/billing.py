"""The accountant's pages about invoices and payments: lists, an invoice's page and its
changes, the CSV import, the day's export for the accounting software, the watch list."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from forms.billing import (
    CancelForm,
    CorrectionForm,
    ExportForm,
    InvoiceFilterForm,
    InvoiceForm,
    InvoiceImportForm,
    OfflinePaymentForm,
    PaymentFilterForm,
    ResolveDoubtForm,
    VoidPaymentForm,
    school_choices,
)
from models import Invoice, Payment, PaymentMethod, PaymentStatus, Role, School
from services import accounting, invoice_admin
from services.billing import InvoiceState, balance_of, state_of
from services.invoice_import import InvoiceFileError, import_invoices
from services.payments import checkout
from services.payments.checkout import OfflinePayment
from views.staff import roles_required

bp = Blueprint("billing", __name__, url_prefix="/espace/factures")

BILLING_ROLES = (Role.ACCOUNTANT, Role.ADMIN)


def billing_schools() -> list[School]:
    """Return the schools where the signed-in account is accountant or administrator."""
    schools = {m.school_id: m.school for m in current_user.memberships if m.role in BILLING_ROLES}
    return sorted(schools.values(), key=lambda school: school.name)


accountant_required = roles_required(*BILLING_ROLES)


def _school_ids() -> list[int]:
    return [school.id for school in billing_schools()]


def _page_url(number: int) -> str:
    # url_for reads _external, _scheme and _anchor as options: never from the address.
    args = {k: v for k, v in request.args.items() if not k.startswith("_")}
    args["page"] = str(number)
    return url_for(request.endpoint or "billing.invoices", **args)


def _valid(form: FlaskForm, name: str) -> Any:
    field = form[name]
    return None if field.errors else field.data


def _class_choices(form: InvoiceFilterForm | PaymentFilterForm, school_ids: list[int]) -> None:
    codes = accounting.class_codes(school_ids)
    form.classe.choices = [SelectChoice("", "Toutes"), *(SelectChoice(c, c) for c in codes)]


# -- invoices list ---------------------------------------------------------------------------


@bp.get("/")
@accountant_required
def invoices() -> str:
    """List the invoices of the accountant's schools, filtered and paginated."""
    school_ids = _school_ids()
    form = InvoiceFilterForm(request.args)
    _class_choices(form, school_ids)
    form.validate()
    state = _valid(form, "statut")
    filters = accounting.InvoiceFilters(
        issued_from=_valid(form, "du"),
        issued_to=_valid(form, "au"),
        class_code=_valid(form, "classe") or None,
        state=InvoiceState(state) if state else None,
        text=_valid(form, "q") or "",
    )
    today = accounting.paris_today()
    page = accounting.invoice_page(
        school_ids, filters, request.args.get("page", 1, type=int), today
    )
    return render_template(
        "billing/invoices.html",
        form=form,
        page=page,
        page_url=_page_url,
        several_schools=len(school_ids) > 1,
    )


# -- one invoice -----------------------------------------------------------------------------


def _invoice(invoice_id: int) -> Invoice:
    invoice = accounting.invoice_in_scope(_school_ids(), invoice_id)
    if invoice is None:
        abort(404)
    return invoice


def _correction_form(invoice: Invoice, submitted: bool) -> CorrectionForm:
    data = {
        "label": invoice.label,
        "amount": invoice.amount_cents,
        "due_on": invoice.due_on,
        "payable_online": invoice.payable_online,
        "payer": invoice.payer_id,
    }
    if submitted:
        form = CorrectionForm(prefix="corriger", data=data)
    else:  # another form was posted: show the invoice as it is
        form = CorrectionForm(prefix="corriger", formdata=None, data=data)
    form.payer.choices = [
        SelectChoice("", "Aucun (tout responsable légal peut payer)"),
        *(
            SelectChoice(str(g.id), f"{g.display_name} (SIECLE {g.siecle_id})")
            for g in invoice_admin.possible_payers(invoice)
        ),
    ]
    return form


def _detail(invoice: Invoice, status: int = 200, **forms: FlaskForm) -> tuple[str, int]:
    today = accounting.paris_today()
    balance = balance_of(invoice)
    forms.setdefault("correct_form", _correction_form(invoice, submitted=False))
    forms.setdefault("cancel_form", CancelForm(prefix="annuler", formdata=None))
    forms.setdefault(
        "payment_form", OfflinePaymentForm(prefix="encaisser", formdata=None, paid_on=today)
    )
    return render_template(
        "billing/invoice.html",
        invoice=invoice,
        balance=balance,
        state=state_of(invoice, balance, today),
        trail=accounting.invoice_trail(invoice),
        **forms,
    ), status


def _refused(form: FlaskForm, error: invoice_admin.InvoiceAdminError) -> None:
    if error.field and error.field in form:
        form[error.field].errors.append(str(error))
    else:
        form.form_errors.append(str(error))


@bp.get("/<int:invoice_id>")
@accountant_required
def invoice(invoice_id: int) -> tuple[str, int]:
    """Show an invoice, its payments and history, with the forms that change it."""
    return _detail(_invoice(invoice_id))


@bp.post("/<int:invoice_id>/corriger")
@accountant_required
def correct(invoice_id: int) -> Response | tuple[str, int]:
    """Correct an invoice's label, amount, due date, online payment or payer."""
    invoice = _invoice(invoice_id)
    form = _correction_form(invoice, submitted=True)
    if not form.validate_on_submit():
        return _detail(invoice, 422, correct_form=form)
    correction = invoice_admin.InvoiceCorrection(
        label=form.label.data,
        amount_cents=form.amount.data,
        due_on=form.due_on.data,
        payable_online=form.payable_online.data,
        payer_id=form.payer.data,
    )
    try:
        changes = invoice_admin.correct_invoice(invoice.id, correction, current_user)
    except invoice_admin.InvoiceAdminError as error:
        _refused(form, error)
        return _detail(invoice, 422, correct_form=form)
    if changes:
        flash(f"La facture {invoice.number} est corrigée.", "success")
    else:
        flash("Aucune modification : la facture est inchangée.", "info")
    return redirect(url_for("billing.invoice", invoice_id=invoice.id))


@bp.post("/<int:invoice_id>/annuler")
@accountant_required
def cancel(invoice_id: int) -> Response | tuple[str, int]:
    """Cancel an invoice, with a reason."""
    invoice = _invoice(invoice_id)
    form = CancelForm(prefix="annuler")
    if not form.validate_on_submit():
        return _detail(invoice, 422, cancel_form=form)
    try:
        invoice_admin.cancel_invoice(invoice.id, form.reason.data, current_user)
    except invoice_admin.InvoiceAdminError as error:
        _refused(form, error)
        return _detail(invoice, 422, cancel_form=form)
    flash(f"La facture {invoice.number} est annulée.", "success")
    return redirect(url_for("billing.invoice", invoice_id=invoice.id))


@bp.post("/<int:invoice_id>/paiements")
@accountant_required
def record_payment(invoice_id: int) -> Response | tuple[str, int]:
    """Record a cheque, cash or transfer received for an invoice."""
    invoice = _invoice(invoice_id)
    form = OfflinePaymentForm(prefix="encaisser")
    if not form.validate_on_submit():
        return _detail(invoice, 422, payment_form=form)
    entry = OfflinePayment(
        method=PaymentMethod(form.method.data),
        amount_cents=form.amount.data,
        paid_on=form.paid_on.data,
        note=(form.note.data or "").strip(),
    )
    try:
        payment = invoice_admin.record_payment(
            invoice.id, entry, current_user, accounting.paris_today()
        )
    except invoice_admin.InvoiceAdminError as error:
        _refused(form, error)
        return _detail(invoice, 422, payment_form=form)
    flash(
        f"Paiement enregistré : ticket n° {payment.ticket_number}, {entry.method.label.lower()}.",
        "success",
    )
    return redirect(url_for("billing.invoice", invoice_id=invoice.id))


def _offline_payment(invoice: Invoice, payment_id: int) -> Payment:
    payment = accounting.payment_in_scope([invoice.school_id], payment_id)
    if payment is None or payment.invoice_id != invoice.id:
        abort(404)
    return payment


@bp.route("/<int:invoice_id>/paiements/<int:payment_id>/annuler", methods=["GET", "POST"])
@accountant_required
def void_payment(invoice_id: int, payment_id: int) -> Response | str | tuple[str, int]:
    """Confirm, then void an offline payment recorded by mistake."""
    invoice = _invoice(invoice_id)
    payment = _offline_payment(invoice, payment_id)
    form = VoidPaymentForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template(
            "billing/void_payment.html", invoice=invoice, payment=payment, form=form
        ), status
    try:
        invoice_admin.void_payment(payment, current_user, form.reason.data)
    except invoice_admin.InvoiceAdminError as error:
        _refused(form, error)
        return render_template(
            "billing/void_payment.html", invoice=invoice, payment=payment, form=form
        ), 422
    flash(f"Le paiement (ticket n° {payment.ticket_number}) est annulé.", "success")
    return redirect(url_for("billing.invoice", invoice_id=invoice.id))


# -- a new invoice ---------------------------------------------------------------------------


@bp.route("/nouvelle", methods=["GET", "POST"])
@accountant_required
def new_invoice() -> Response | str | tuple[str, int]:
    """Create an invoice by hand."""
    schools = billing_schools()
    form = InvoiceForm(issued_on=accounting.paris_today())
    if len(schools) > 1:
        form.school.choices = school_choices(schools)
    else:
        del form.school
    if not form.validate_on_submit():
        return render_template("billing/new_invoice.html", form=form)
    school = (
        next(s for s in schools if s.id == form.school.data) if len(schools) > 1 else schools[0]
    )
    draft = invoice_admin.InvoiceDraft(
        number=form.number.data,
        pupil_ref=form.pupil.data,
        label=form.label.data,
        amount_cents=form.amount.data,
        issued_on=form.issued_on.data,
        due_on=form.due_on.data,
        payable_online=form.payable_online.data,
    )
    try:
        invoice = invoice_admin.create_invoice(school, draft, current_user)
    except invoice_admin.InvoiceAdminError as error:
        _refused(form, error)
        return render_template("billing/new_invoice.html", form=form), 422
    flash(f"La facture {invoice.number} est créée.", "success")
    return redirect(url_for("billing.invoice", invoice_id=invoice.id))


# -- payments --------------------------------------------------------------------------------


@bp.get("/paiements")
@accountant_required
def payments() -> str:
    """List the payments of the accountant's schools, filtered, with the paid total."""
    schools = billing_schools()
    school_ids = [school.id for school in schools]
    form = PaymentFilterForm(request.args)
    _class_choices(form, school_ids)
    form.validate()
    status, method = _valid(form, "statut"), _valid(form, "moyen")
    filters = accounting.PaymentFilters(
        date_from=_valid(form, "du"),
        date_to=_valid(form, "au"),
        class_code=_valid(form, "classe") or None,
        status=PaymentStatus(status) if status else None,
        method=PaymentMethod(method) if method else None,
        text=_valid(form, "q") or "",
    )
    result = accounting.payment_page(school_ids, filters, request.args.get("page", 1, type=int))
    export = ExportForm(formdata=None, date=accounting.paris_today())
    export.school.choices = school_choices(schools) if len(schools) > 1 else []
    return render_template(
        "billing/payments.html",
        form=form,
        result=result,
        page=result.page,
        page_url=_page_url,
        export_form=export,
        several_schools=len(schools) > 1,
    )


@bp.get("/paiements/export.csv")
@accountant_required
def export() -> Response:
    """Download a day's paid payments as the accounting CSV (Paris day, today by default)."""
    schools = billing_schools()
    text = request.args.get("date", "").strip()
    try:
        day = date.fromisoformat(text) if text else accounting.paris_today()
    except ValueError:
        flash(f"Date « {text} » invalide : choisissez une journée dans le calendrier.", "error")
        return redirect(url_for("billing.payments"))
    uai = request.args.get("school", "").strip()
    if uai:
        school = next((s for s in schools if uai.upper() in (s.uai, str(s.id))), None)
        if school is None:
            abort(404)
    elif len(schools) == 1:
        school = schools[0]
    else:
        flash("Choisissez l'établissement dont vous voulez l'export.", "error")
        return redirect(url_for("billing.payments"))
    data = accounting.export_csv(accounting.day_payments([school.id], day))
    return send_file(
        io.BytesIO(data),
        mimetype="text/csv",
        as_attachment=True,
        download_name=accounting.export_filename(day, school.uai),
        max_age=0,
    )


@bp.get("/paiements/suivi")
@accountant_required
def watch() -> str:
    """List the payments in progress or in doubt, with a button to ask the bank."""
    school_ids = _school_ids()
    return render_template(
        "billing/watch.html",
        rows=accounting.watched_payments(school_ids),
        several_schools=len(school_ids) > 1,
    )


@bp.post("/paiements/<int:payment_id>/verifier")
@accountant_required
def recheck(payment_id: int) -> Response:
    """Ask the bank now how a pending payment ended, and say what it answered."""
    payment = accounting.payment_in_scope(_school_ids(), payment_id)
    if payment is None:
        abort(404)
    changed, message = accounting.recheck(payment)
    flash(message, "success" if changed else "info")
    return redirect(url_for("billing.watch"))


# -- the CSV import --------------------------------------------------------------------------


def _import_form(schools: list[School], **kw: Any) -> InvoiceImportForm:
    form = InvoiceImportForm(**kw)
    if len(schools) > 1:
        form.school.choices = school_choices(schools)
    else:
        del form.school
    return form


@bp.route("/import", methods=["GET", "POST"])
@accountant_required
def invoice_import() -> tuple[str, int] | str:
    """Upload the invoices CSV and show what the import did, or every bad row."""
    schools = billing_schools()
    form = _import_form(schools)
    if not form.validate_on_submit():
        return render_template("billing/import.html", form=form)
    school = (
        next(s for s in schools if s.id == form.school.data) if len(schools) > 1 else schools[0]
    )
    try:
        report = import_invoices(form.invoices.data.read(), school, actor=current_user)
    except InvoiceFileError as error:
        # 422 makes the request boundary roll back, though nothing was written.
        return render_template("billing/import.html", form=form, error=str(error)), 422
    if not report.imported:
        return render_template("billing/import.html", form=form, report=report), 422
    return render_template(
        "billing/import.html", form=_import_form(schools, formdata=None), report=report
    )


@bp.route("/paiements/<int:payment_id>/resoudre", methods=["GET", "POST"])
@accountant_required
def resolve(payment_id: int) -> Response | str | tuple[str, int]:
    """Close a payment in doubt as the bank's back office shows it: paid or not."""
    payment = accounting.payment_in_scope(_school_ids(), payment_id)
    if payment is None:
        abort(404)
    form = ResolveDoubtForm()
    page = {"payment": payment, "form": form, "allowed": checkout.may_resolve(payment)}
    if not form.validate_on_submit():
        return render_template("billing/resolve.html", **page), 422 if form.is_submitted() else 200
    try:
        checkout.resolve_doubt(
            payment,
            current_user,
            paid=form.decision.data == "paid",
            reason=form.reason.data,
            amount_cents=form.amount.data,
        )
    except checkout.PaymentError as error:
        form.form_errors.append(str(error))
        return render_template("billing/resolve.html", **page), 422
    flash(f"Le paiement est maintenant « {payment.status.label} ».", "success")
    return redirect(url_for("billing.watch"))
