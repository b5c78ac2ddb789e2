"""The generic step view: any step of any workflow, for the applicant or for staff."""

from __future__ import annotations

import io
import secrets
from typing import Any

from flask import (
    Blueprint,
    abort,
    after_this_request,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask.views import MethodView
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from engine import (
    Actor,
    ConflictError,
    EngineError,
    InvalidTriggerError,
    NotAllowedError,
    Outcome,
    StepView,
    SubmissionError,
)
from engine.explain import summary
from extensions import db
from forms.workflow import StepForm, item_name, step_form_class, submitted_values
from models import InstanceStatus, WorkflowInstance
from services import tasks, workflow_answers, workflows
from services.schools import current_school
from services.workflow_store import published_version
from views.staff import staff_required

bp = Blueprint("workflows", __name__, url_prefix="/demarches")
tasks_bp = Blueprint("tasks", __name__, url_prefix="/espace/taches")

CONFLICT = (
    "Cette étape vient d'être validée depuis une autre fenêtre ou par une autre personne. "
    "Voici où en est la démarche."
)
NOT_POSSIBLE = "Cette action n'est plus possible à cette étape."
BLOCKED = "Les informations saisies ne permettent pas de continuer."
BLOCKED_PREFIX = "Impossible de continuer : "


APPLICANT_COOKIE = "guichet_demarches"
APPLICANT_COOKIE_AGE = 14 * 24 * 3600  # a parent may come back to a procedure for two weeks


def _cookie_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="applicant-cookie")


def _anonymous_id(create: bool = False) -> str | None:
    # A visitor without an account is tied to their instances by this random id: in the
    # signed session while they work, and in a signed two-week cookie so that closing the
    # browser or a long break does not lose the procedure. Nobody else can present it.
    if "applicant" not in session:
        try:
            remembered = _cookie_signer().loads(
                request.cookies.get(APPLICANT_COOKIE, ""), max_age=APPLICANT_COOKIE_AGE
            )
        except (BadSignature, SignatureExpired):
            remembered = None
        if remembered:
            session["applicant"] = remembered
        elif create:
            session["applicant"] = f"anon:{secrets.token_urlsafe(16)}"
            _remember_visitor(session["applicant"])
    return session.get("applicant")


def _remember_visitor(applicant: str) -> None:
    @after_this_request
    def set_cookie(response: Response) -> Response:
        response.set_cookie(
            APPLICANT_COOKIE,
            _cookie_signer().dumps(applicant),
            max_age=APPLICANT_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
        return response


def _visitor() -> Actor:
    account = current_user if current_user.is_authenticated else None
    return workflows.actor_of(account, _anonymous_id())


class StepPage(MethodView):
    """Render a step and handle its submission; `audience` says who the page is for."""

    def __init__(self, audience: str) -> None:
        self.audience = audience  # "applicant" or "staff"

    # -- hooks -----------------------------------------------------------------------

    def load(self, public_id: str) -> WorkflowInstance:
        row = workflows.get_instance(public_id)
        if row is None:
            abort(404)
        return row

    def check_access(self, row: WorkflowInstance) -> Actor:
        actor = _visitor()
        if self.audience == "staff":
            if not (current_user.is_authenticated and tasks.may_work_on(current_user, row)):
                abort(403)
        elif row.applicant is None or row.applicant != actor.id:
            abort(403)
        return actor

    def here(self, row: WorkflowInstance) -> str:
        endpoint = "tasks.task" if self.audience == "staff" else "workflows.step"
        return url_for(endpoint, public_id=row.public_id)

    # -- requests ----------------------------------------------------------------------

    def get(self, public_id: str) -> str | Response:
        row = self.load(public_id)
        self.check_access(row)
        view = workflows.step_view(row)
        if self.audience == "applicant" and view.redirect:
            return redirect(view.redirect)
        return self.render(row, view=view)

    def post(self, public_id: str) -> str | Response:
        row = self.load(public_id)
        actor = self.check_access(row)
        if not self.acts_now(row):
            flash(NOT_POSSIBLE, "warning")
            return redirect(self.here(row))
        if _stale(row):
            flash(CONFLICT, "warning")
            return redirect(self.here(row))
        view = workflows.step_view(row)
        form = step_form_class(row.key, row.version, view)()
        if not form.validate_on_submit():
            return self.render(row, form=form)
        values = submitted_values(form, view, lambda f: workflows.save_upload(f, row.school_id))
        try:
            outcome = workflows.submit(row, values, actor)
        except SubmissionError as error:
            _attach(form, view, error.errors)
            return self.render(row, form=form)
        except ConflictError:
            _lost_the_race()
            return redirect(self.here(row))
        _flash_outcome(row, outcome)
        return redirect(self.after(row))

    def after(self, row: WorkflowInstance) -> str:
        if self.audience == "staff" and not self.acts_now(row):
            flash("La tâche est traitée.", "success")
            return url_for("desk.inbox")
        return self.landing(row)

    def landing(self, row: WorkflowInstance) -> str:
        # Where the applicant goes next: the step's redirect (the engine rendered it and
        # kept it only if it is a path on this site), else the step page. Staff stay here.
        if self.audience == "applicant":
            target = workflows.step_view(row).redirect
            if target:
                return target
        return self.here(row)

    def acts_now(self, row: WorkflowInstance) -> bool:
        if row.status != InstanceStatus.ACTIVE:
            return False
        return (row.assignee_role is not None) == (self.audience == "staff")

    def render(
        self, row: WorkflowInstance, form: StepForm | None = None, view: StepView | None = None
    ) -> str:
        view = view or workflows.step_view(row)
        acting = self.acts_now(row)
        if form is None and acting and view.has_form:
            form = step_form_class(row.key, row.version, view)(formdata=None)
        if form is not None:
            form.shown_at.data = _position(row)
        return render_template(
            "workflows/step.html",
            row=row,
            view=view,
            form=form if acting else None,
            acting=acting,
            audience=self.audience,
            progress=workflows.progress(row) if self.audience == "applicant" else None,
            definition=workflows.definition(row),
            history=workflows.history(row) if self.audience == "staff" else [],
            answers=workflow_answers.answers(row) if self.audience == "staff" else [],
            blocked=workflows.why_blocked(row) if self.audience == "staff" else [],
            step_title=lambda name: workflows.step_title(row, name),
            base_url=self.here(row),
            colleagues=[c for c in tasks.colleagues(row) if c.id != row.claimed_by_id]
            if self.audience == "staff"
            else [],
        )


def _lost_the_race() -> None:
    # Another request moved the instance first: what this one's actions wrote (a payment
    # reserved by a double click) must not be committed with the redirect.
    db.session.rollback()
    flash(CONFLICT, "warning")


def _position(row: WorkflowInstance) -> str:
    # The step and how many steps lie behind it: events that stay on the step (a timer,
    # a resent code) leave it unchanged, moving on or back changes it.
    return f"{row.step}:{len(row.history or [])}"


def _stale(row: WorkflowInstance) -> bool:
    # The page was shown at another step: another tab or person moved the case since. True
    # races between two submissions are caught by the store's compare-and-set instead.
    shown = request.form.get("shown_at")
    return shown is not None and shown != _position(row)


def _attach(form: StepForm, view: Any, errors: dict[str, str]) -> None:
    for name, message in errors.items():
        field = next((f for f in view.fields if f.name == name), None)
        target = name if field is None or field.items is None else item_name(field, 0)
        if target in form:
            form[target].errors = [*form[target].errors, message]


def _flash_outcome(row: WorkflowInstance, outcome: Outcome) -> None:
    if outcome.ignored:
        flash(NOT_POSSIBLE, "warning")
    elif not outcome.moved and outcome.blocked:
        if outcome.message:
            # The workflow's own words. One that renders empty gets the generic sentence,
            # not the rule: such messages are left blank on purpose (say nothing of who
            # has an account).
            message = workflows.render_text(row, outcome.message)
            flash(message or BLOCKED, "error")
            return
        if not _reads_only_answers(row, outcome):
            # The rule reads the case's inner workings (a match, an account): its words
            # would mean nothing to the family, or tell them too much.
            flash(BLOCKED, "error")
            return
        reasons = workflows.explain_blocked(row, outcome.blocked, outcome.from_step)
        words = summary(reasons)
        if not words:
            flash(BLOCKED, "error")
            return
        flash(f"{BLOCKED_PREFIX}{words}{'' if words[-1] in '.!?…' else '.'}", "error")


def _reads_only_answers(row: WorkflowInstance, outcome: Outcome) -> bool:
    """Tell whether the blocking rules read only the step's fields and settings."""
    step = workflows.definition(row).steps.get(outcome.from_step)
    fields = {f.name for f in step.fields} if step is not None else set()
    names = {name for block in outcome.blocked for name in block.get("values", {})}
    return all(name.split(".")[0] in fields or name.startswith("settings.") for name in names)


def _event(audience: str, public_id: str, event: str) -> Response:
    page = StepPage(audience)
    row = page.load(public_id)
    actor = page.check_access(row)
    if _stale(row):
        flash(CONFLICT, "warning")
        return redirect(page.here(row))
    try:
        outcome = workflows.fire(row, event, actor, workflows.event_payload(row, request.form))
    except (NotAllowedError, InvalidTriggerError):
        abort(403)
    except ConflictError:
        _lost_the_race()
        return redirect(page.here(row))
    _flash_outcome(row, outcome)
    return redirect(page.after(row))


def _back(audience: str, public_id: str) -> Response:
    page = StepPage(audience)
    row = page.load(public_id)
    actor = page.check_access(row)
    if _stale(row):
        flash(CONFLICT, "warning")
        return redirect(page.here(row))
    try:
        workflows.back(row, actor)
    except InvalidTriggerError:
        flash(NOT_POSSIBLE, "warning")
    except ConflictError:
        _lost_the_race()
    else:
        return redirect(page.landing(row))
    return redirect(page.here(row))


# -- the applicant's side ------------------------------------------------------------------

bp.add_url_rule("/<public_id>", view_func=StepPage.as_view("step", audience="applicant"))


@bp.get("/")
def index() -> str:
    """List the procedures a visitor may start here."""
    account = current_user if current_user.is_authenticated else None
    definitions = workflows.startable(workflows.actor_of(account, _anonymous_id()))
    return render_template("workflows/index.html", definitions=definitions)


@bp.get("/nouvelle/<key>")
def start_page(key: str) -> str:
    """Present a procedure with its "Commencer" button (links can only GET)."""
    version = published_version(key)
    if version is None:
        abort(404)
    visitor = _visitor()
    ongoing = workflows.ongoing(key, visitor.id) if visitor.id else None
    return render_template(
        "workflows/start.html", definition=workflows.definition_of(version), ongoing=ongoing
    )


@bp.post("/<key>/commencer")
def start(key: str) -> Response:
    """Start a procedure and open its first step."""
    if published_version(key) is None:
        abort(404)
    account = current_user if current_user.is_authenticated else None
    actor = workflows.actor_of(account, None if account else _anonymous_id(create=True))
    try:
        row = workflows.start(key, actor, current_school())
    except NotAllowedError:
        abort(403)
    except EngineError:
        abort(404)
    return redirect(url_for("workflows.step", public_id=row.public_id))


@bp.get("/reprendre/<token>")
def resume(token: str) -> Response:
    """Give a visitor without an account their procedure back, from a link we emailed them."""
    row = workflows.instance_for_resume(token)
    if row is None or row.applicant is None:
        abort(404)
    if row.applicant.startswith("anon:"):
        session["applicant"] = row.applicant
        _remember_visitor(row.applicant)
    return redirect(url_for("workflows.step", public_id=row.public_id))


@bp.post("/<public_id>/evenement/<event>")
def event(public_id: str, event: str) -> Response:
    """Fire a button event of the current step (resend a code…)."""
    return _event("applicant", public_id, event)


@bp.post("/<public_id>/retour")
def back(public_id: str) -> Response:
    """Go back to the previous step."""
    return _back("applicant", public_id)


# -- the staff side ------------------------------------------------------------------------

tasks_bp.add_url_rule(
    "/<public_id>",
    view_func=staff_required(StepPage.as_view("task", audience="staff")),
)


@tasks_bp.get("/")
@staff_required
def task_list() -> Response:
    """Tasks live in the staff inbox, beside the families' requests."""
    return redirect(url_for("desk.inbox", type="taches"))


@tasks_bp.post("/<public_id>/evenement/<event>")
@staff_required
def task_event(public_id: str, event: str) -> Response:
    """Fire a button event of a staff step (ask the family for more information…)."""
    return _event("staff", public_id, event)


@tasks_bp.post("/<public_id>/prendre")
@staff_required
def claim(public_id: str) -> Response:
    """Take a task."""
    row = _task(public_id)
    tasks.claim(row, current_user)
    flash("Vous traitez cette tâche.", "success")
    return redirect(url_for("tasks.task", public_id=public_id))


@tasks_bp.post("/<public_id>/confier")
@staff_required
def assign(public_id: str) -> Response:
    """Hand a task to a colleague who holds its role in its school."""
    row = _task(public_id)
    chosen = request.form.get("colleague", "")
    colleague = next((c for c in tasks.colleagues(row) if str(c.id) == chosen), None)
    if colleague is None:
        flash("Choisissez une personne de la liste.", "error")
        return redirect(url_for("tasks.task", public_id=public_id))
    tasks.assign(row, colleague)
    flash(f"La tâche est confiée à {colleague.name}.", "success")
    return redirect(url_for("tasks.task", public_id=public_id))


@tasks_bp.post("/<public_id>/liberer")
@staff_required
def release(public_id: str) -> Response:
    """Put a task back in the queue."""
    row = _task(public_id)
    tasks.release(row)
    flash("La tâche est remise dans la file.", "info")
    return redirect(url_for("desk.inbox"))


@tasks_bp.get("/<public_id>/fichiers/<file_id>")
@staff_required
def attachment(public_id: str, file_id: str) -> Response:
    """Download a file the applicant attached to this task's case."""
    row = _task(public_id)
    stored = workflow_answers.uploaded_file(row, file_id)
    if stored is None:
        abort(404)
    return send_file(
        io.BytesIO(stored.data),
        mimetype=stored.content_type,
        as_attachment=True,
        download_name=stored.filename,
    )


def _task(public_id: str) -> WorkflowInstance:
    row = workflows.get_instance(public_id)
    if row is None:
        abort(404)
    if not tasks.may_work_on(current_user, row):
        abort(403)
    return row
