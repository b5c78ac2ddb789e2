"""The `flask users` and `flask seed` commands, as an administrator runs them."""

from __future__ import annotations

from models import Account, Guardian, Pupil, Role, School
from services.accounts import authenticate


def test_users_create_reads_the_password_from_stdin(runner, db, make_school):
    make_school()
    result = runner.invoke(
        args=["users", "create", "--role", "admin", "--email", "Chef@Example.org",
              "--name", "Claude Chef", "--password-stdin"],
        input="Principal-Adjoint-2026\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    account = authenticate("chef@example.org", "Principal-Adjoint-2026")
    assert account is not None
    assert account.has_role(Role.ADMIN)


def test_users_create_refuses_a_weak_password(runner, db, make_school):
    make_school()
    result = runner.invoke(
        args=["users", "create", "--role", "accountant", "--email", "a@example.org",
              "--name", "A B", "--password-stdin"],
        input="court\n",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "au moins 12 caractères" in result.output
    assert db.session.scalars(db.select(Account)).all() == []


def test_users_create_names_an_unknown_school(runner, make_school):
    make_school()
    result = runner.invoke(
        args=["users", "create", "--role", "admin", "--email", "a@example.org", "--name", "A B",
              "--school", "9999999Z", "--password-stdin"],
        input="Principal-Adjoint-2026\n",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "Unknown school UAI: 9999999Z" in result.output


def test_staff_can_serve_several_schools(runner, db, make_school):
    make_school(uai="0360009P", name="Collège des Tilleuls")
    make_school(uai="0360010R", name="Lycée Jean Giraudoux")
    result = runner.invoke(
        args=["users", "create", "--role", "accountant", "--email", "ac@example.org",
              "--name", "Agent Comptable", "--password-stdin"],
        input="Plusieurs-Etablissements-36\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    account = db.session.scalars(db.select(Account)).one()
    assert {m.school.uai for m in account.memberships} == {"0360009P", "0360010R"}


def test_seed_demo_is_idempotent_and_prints_the_logins(runner, db):
    first = runner.invoke(args=["seed", "demo"])
    assert first.exit_code == 0, first.output
    assert "admin@example.org" in first.output
    assert "comptable@example.org" in first.output
    counts = [db.session.query(model).count() for model in (School, Pupil, Guardian, Account)]
    second = runner.invoke(args=["seed", "demo"])
    assert second.exit_code == 0
    assert [
        db.session.query(model).count() for model in (School, Pupil, Guardian, Account)
    ] == counts
    assert counts[0] == 1 and counts[1] >= 5 and counts[2] >= 4
    assert authenticate("admin@example.org", "demo-guichet-2026") is not None


def test_seed_if_empty_leaves_an_existing_school_alone(runner, db, make_school):
    make_school(uai="0450001A", name="Collège réel")
    result = runner.invoke(args=["seed", "demo", "--if-empty"])
    assert "not loaded" in result.output
    assert db.session.query(School).count() == 1


def test_schools_create_then_update_by_uai(runner, db):
    args = ["schools", "create", "--uai", "0450001a", "--name", "Collège Anatole France"]
    assert runner.invoke(args=[*args, "--accountant-email", "ac@example.org"]).exit_code == 0
    renamed = ["schools", "create", "--uai", "0450001A", "--name", "Collège A. France"]
    result = runner.invoke(args=renamed)
    assert "Updated 0450001A" in result.output
    [school] = db.session.scalars(db.select(School)).all()
    assert (school.uai, school.name) == ("0450001A", "Collège A. France")
    assert school.accountant_email == "ac@example.org"  # not given again: kept


def test_schools_create_refuses_what_is_not_a_uai(runner, db):
    result = runner.invoke(args=["schools", "create", "--uai", "12345", "--name", "X"])
    assert result.exit_code != 0
    assert "is not a UAI" in result.output
    assert db.session.query(School).count() == 0
