"""The workflow studio: administrators edit, preview, publish and roll back procedures, and
move running cases to a new version, without code."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from engine import to_mermaid
from engine.diff import describe_changes, text_diff
from extensions import db
from forms.studio import CommentForm, ConfirmForm, EditorForm, ImportForm
from models import InstanceStatus, Role, WorkflowInstance, WorkflowVersion
from services import workflow_answers, workflows
from services import workflow_catalogue as catalogue
from services import workflow_drafts as drafts
from services import workflow_moves as moves
from services import workflow_publishing as publishing
from services.admin_accounts import admin_school_ids
from services.workflow_drafts import StudioError
from services.workflow_preview import preview
from services.workflow_store import definition_of, published_version
from views.headers import CONTENT_SECURITY_POLICY
from views.staff import roles_required

bp = Blueprint("studio", __name__, url_prefix="/espace/admin/demarches")
admin_required = roles_required(Role.ADMIN)

# Mermaid styles the diagrams it draws with inline <style>: allowed on these admin pages
# only. Scripts stay limited to our own files.
STUDIO_CSP = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
INSTANCES_PAGE = 100


@bp.after_request
def allow_diagram_styles(response: Response) -> Response:
    """Let Mermaid style its diagrams on the studio's pages."""
    response.headers.setdefault("Content-Security-Policy", STUDIO_CSP)
    return response


# -- the list, import, export ------------------------------------------------------------


@bp.get("/")
@admin_required
def index() -> str:
    """List the workflows, their versions and where their running cases are."""
    return render_template(
        "studio/index.html", rows=catalogue.workflows(), import_form=ImportForm(formdata=None)
    )


@bp.post("/importer")
@admin_required
def import_file() -> Response | tuple[str, int]:
    """Turn an uploaded YAML file into a draft, then open it in the editor."""
    form = ImportForm()
    if not form.validate_on_submit():
        return render_template(
            "studio/index.html", rows=catalogue.workflows(), import_form=form
        ), 422
    try:
        draft = drafts.import_file(form.file.data.read(), current_user)
    except StudioError as error:
        return _refused(error, url_for("studio.index"))
    flash(
        f"Le fichier est le brouillon de « {draft.key} » : vérifiez-le puis publiez-le.", "success"
    )
    return redirect(url_for("studio.edit", key=draft.key))


@bp.get("/<key>/versions/<int:number>.yaml")
@admin_required
def export_version(key: str, number: int) -> Response:
    """Download a version's YAML."""
    version = _version(key, number)
    return _yaml_download(version.source, drafts.export_name(version))


@bp.get("/<key>/brouillon.yaml")
@admin_required
def export_draft(key: str) -> Response:
    """Download the draft's YAML."""
    draft = drafts.draft_of(key) or abort(404)
    return _yaml_download(draft.source, drafts.export_name(draft))


# -- one workflow: versions, moves ---------------------------------------------------------


@bp.get("/<key>/")
@admin_required
def workflow(key: str) -> str:
    """Show a workflow's versions, its running cases per step, and the moves made."""
    rows = catalogue.workflows(key)
    if not rows:
        abort(404)
    row = rows[0]
    published = publishing.published_definition(key)
    impact = moves.impact(key, published[1], published[0]) if published else []
    return render_template(
        "studio/workflow.html",
        row=row,
        impact=impact,
        batches=moves.batches(key),
        confirm=ConfirmForm(formdata=None),
    )


@bp.get("/<key>/versions/<int:number>")
@admin_required
def version(key: str, number: int) -> str:
    """Show one version: its comment, diagram and text, with export and roll back."""
    version = _version(key, number)
    definition = definition_of(version)
    return render_template(
        "studio/version.html",
        version=version,
        definition=definition,
        diagram=to_mermaid(definition),
        published=publishing.published_definition(key),
        form=CommentForm(formdata=None),
    )


@bp.post("/<key>/versions/<int:number>/republier")
@admin_required
def rollback(key: str, number: int) -> Response:
    """Publish an earlier version again (as a new version), with a comment."""
    _version(key, number)
    form = CommentForm()
    if not form.validate_on_submit():
        return _form_refused(form, url_for("studio.version", key=key, number=number))
    try:
        created = publishing.rollback(key, number, form.comment.data, current_user)
    except StudioError as error:
        return _refused(error, url_for("studio.version", key=key, number=number))
    flash(
        f"La version {number} est de nouveau en service, comme version {created.version}.",
        "success",
    )
    return redirect(url_for("studio.workflow", key=key))


@bp.post("/<key>/versions/<int:number>/deplacer")
@admin_required
def move(key: str, number: int) -> Response:
    """Move the compatible running cases of a version to the published one."""
    _version(key, number)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        report = moves.move_compatible(key, number, current_user)
    except StudioError as error:
        return _refused(error, url_for("studio.workflow", key=key))
    kept = f" ; {len(report.kept)} reste(nt) sur la version {number}" if report.kept else ""
    flash(f"{report.moved} dossier(s) déplacé(s) vers la version publiée{kept}.", "success")
    return redirect(url_for("studio.workflow", key=key))


@bp.post("/<key>/deplacements/<batch>/annuler")
@admin_required
def undo_move(key: str, batch: str) -> Response:
    """Put the cases of a bulk move back on their earlier version."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        report = moves.undo(key, batch, current_user)
    except StudioError as error:
        return _refused(error, url_for("studio.workflow", key=key))
    kept = f" ; {len(report.kept)} avaient avancé et restent" if report.kept else ""
    flash(f"{report.moved} dossier(s) remis sur leur version{kept}.", "success")
    return redirect(url_for("studio.workflow", key=key))


# -- editing, checking, previewing, publishing ------------------------------------------------


@bp.route("/<key>/modifier", methods=["GET", "POST"])
@admin_required
def edit(key: str) -> Response | str | tuple[str, int]:
    """Edit the YAML; save it as a draft, or go on to the preview."""
    try:
        source, based_on = drafts.editable_source(key)
    except StudioError:
        abort(404)
    form = EditorForm(data={"source": source})
    if request.method == "POST":
        if not form.validate_on_submit():
            return _editor(key, form, based_on), 422
        try:
            drafts.save_draft(key, form.source.data.replace("\r\n", "\n"), current_user)
        except StudioError as error:
            form.source.errors = [str(error)]
            return _editor(key, form, based_on), 422
        if request.form.get("next") == "apercu":
            return redirect(url_for("studio.preview_draft", key=key))
        flash("Brouillon enregistré. Il n'est pas publié.", "success")
        return redirect(url_for("studio.edit", key=key))
    return _editor(key, form, based_on)


@bp.post("/<key>/verifier")
@admin_required
def check(key: str) -> Response | tuple[Response, int]:
    """Validate a text as it is typed, with the validator of `flask workflows check`."""
    _known(key)
    source = request.form.get("source", "")
    try:
        problems = drafts.problems_of(key, source)
    except StudioError as error:
        return jsonify(problems=[_problem(1, 1, "too-large", str(error), "error")]), 413
    return jsonify(
        problems=[_problem(p.line, p.column, p.code, p.message, p.severity) for p in problems]
    )


@bp.post("/<key>/brouillon/supprimer")
@admin_required
def discard(key: str) -> Response:
    """Throw the draft away."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if drafts.discard_draft(key, current_user):
        flash("Le brouillon est supprimé ; la version publiée reste en service.", "info")
    if published_version(key) is None:  # a new workflow that was only a draft: gone
        return redirect(url_for("studio.index"))
    return redirect(url_for("studio.workflow", key=key))


@bp.get("/<key>/apercu")
@admin_required
def preview_draft(key: str) -> Response | str:
    """Preview the draft: checks, changes in words, impact on running cases, diagram, forms."""
    draft = drafts.draft_of(key)
    if draft is None:
        flash("Il n'y a pas de brouillon : modifiez la démarche pour en créer un.", "info")
        return redirect(url_for("studio.edit", key=key))
    return _preview(key, draft.source, CommentForm(formdata=None))


@bp.post("/<key>/publier")
@admin_required
def publish(key: str) -> Response | tuple[str, int]:
    """Publish the draft as a new version: new cases start on it at once."""
    draft = drafts.draft_of(key) or abort(404)
    form = CommentForm()
    if not form.validate_on_submit():
        return _preview(key, draft.source, form), 422
    source = draft.source
    try:
        created = publishing.publish(key, source, form.comment.data, current_user)
    except StudioError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _preview(key, source, form), 422
    flash(
        f"Version {created.version} publiée : les nouveaux dossiers la suivent. "
        "Les dossiers en cours restent sur leur version tant que vous ne les déplacez pas.",
        "success",
    )
    return redirect(url_for("studio.workflow", key=key))


# -- running cases ------------------------------------------------------------------------------


@bp.get("/<key>/dossiers")
@admin_required
def instances(key: str) -> str:
    """List the running cases of a workflow in the administrator's schools."""
    _known(key)
    query = _visible(db.select(WorkflowInstance)).where(
        WorkflowInstance.key == key, WorkflowInstance.status == InstanceStatus.ACTIVE
    )
    number = request.args.get("version", type=int)
    step = request.args.get("etape")
    if number is not None:
        query = query.where(WorkflowInstance.version == number)
    if step:
        query = query.where(WorkflowInstance.step == step)
    rows = db.session.scalars(
        query.order_by(WorkflowInstance.updated_at.desc()).limit(INSTANCES_PAGE)
    ).all()
    return render_template(
        "studio/instances.html", key=key, rows=rows, version=number, step=step,
        step_title=lambda row: workflows.step_title(row, row.step),
    )  # fmt: skip


@bp.get("/dossiers/<public_id>")
@admin_required
def instance(public_id: str) -> str:
    """Show a case: where it is, what was answered, and why it cannot go on."""
    row = _instance(public_id)
    active = row.status == InstanceStatus.ACTIVE
    return render_template(
        "studio/instance.html",
        row=row,
        definition=workflows.definition(row),
        answers=workflow_answers.answers(row),
        history=workflows.history(row),
        blocked=workflows.why_blocked(row) if active else [],
        step_title=lambda name: workflows.step_title(row, name),
        confirm=ConfirmForm(formdata=None),
    )


@bp.post("/dossiers/<public_id>/abandonner")
@admin_required
def cancel(public_id: str) -> Response:
    """Stop a case for good (an abandoned one that keeps a step from being retired)."""
    row = _instance(public_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if request.form.get("confirme") != "oui":
        flash("Cochez la case pour confirmer l'abandon du dossier.", "error")
    elif row.status != InstanceStatus.ACTIVE:
        flash("Ce dossier est déjà terminé.", "info")
    else:
        workflows.cancel(row, current_user)
        flash("Le dossier est abandonné.", "success")
    return redirect(url_for("studio.instance", public_id=public_id))


# -- helpers ----------------------------------------------------------------------------------


def _editor(key: str, form: EditorForm, based_on: int | None) -> str:
    source = form.source.data or ""
    try:
        problems = drafts.problems_of(key, source)
    except StudioError as error:
        problems = []
        form.source.errors = [*form.source.errors, str(error)]
    return render_template(
        "studio/edit.html",
        key=key,
        form=form,
        based_on=based_on,
        draft=drafts.draft_of(key),
        problems=problems,
        confirm=ConfirmForm(formdata=None),
    )


def _preview(key: str, source: str, form: CommentForm) -> str:
    check = publishing.prepare(key, source)
    published = publishing.published_definition(key)
    published_row = published_version(key)
    draft = drafts.draft_of(key)
    context: dict[str, object] = {
        "key": key,
        "check": check,
        "form": form,
        "published": published,
        # Published since the draft began (a rollback, a colleague): its changes would go.
        "stale_base": draft is not None
        and published is not None
        and draft.based_on is not None
        and draft.based_on != published[0],
        "based_on": draft.based_on if draft else None,
        "my_schools": admin_school_ids(current_user),
        "text_changes": text_diff(published_row.source if published_row else "", source),
    }
    if not check.errors:
        definition = publishing.parse(key, source)
        context.update(
            definition=definition,
            changes=describe_changes(published[1] if published else None, definition),
            impact=moves.impact(key, definition, None),
            diagram=to_mermaid(definition),
            steps=preview(definition, source),
        )
    return render_template("studio/preview.html", **context)


def _version(key: str, number: int) -> WorkflowVersion:
    version = db.session.scalars(
        db.select(WorkflowVersion).filter_by(key=key, version=number)
    ).first()
    if version is None:
        abort(404)
    return version


def _visible(query):  # type: ignore[no-untyped-def]
    schools = admin_school_ids(current_user)
    return query.where(
        WorkflowInstance.school_id.in_(schools) | WorkflowInstance.school_id.is_(None)
    )


def _known(key: str) -> None:
    """404 for a workflow that has neither a version nor a draft."""
    exists = db.session.scalar(
        db.select(WorkflowVersion.id).where(WorkflowVersion.key == key).limit(1)
    )
    if exists is None and drafts.draft_of(key) is None:
        abort(404)


def _instance(public_id: str) -> WorkflowInstance:
    row = db.session.scalars(
        _visible(db.select(WorkflowInstance)).where(WorkflowInstance.public_id == public_id)
    ).first()
    if row is None:
        abort(404)
    return row


def _problem(line: int, column: int, code: str, message: str, severity: str) -> dict[str, object]:
    return {"line": line, "column": column, "code": code, "message": message, "severity": severity}


def _yaml_download(source: str, filename: str) -> Response:
    response = Response(source, mimetype="application/yaml")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _refused(error: StudioError, target: str) -> Response:
    db.session.rollback()
    flash(str(error), "error")
    return redirect(target)


def _form_refused(form: CommentForm | ImportForm, target: str) -> Response:
    for errors in form.errors.values():
        for message in errors:
            flash(str(message), "error")
    return redirect(target)
