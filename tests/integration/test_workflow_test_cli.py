"""`flask workflows test`: the scenarios of the definitions, as CI and staff run them."""

from __future__ import annotations

import json

from config import ROOT

FAILING = (
    (ROOT / "workflows" / "identifiant_oublie.yaml")
    .read_text(encoding="utf-8")
    .replace(
        "      path: [identite, envoye]\n      status: completed\n      sent: [sms]",
        "      path: [identite]\n      status: completed\n      sent: [sms]",
    )
)


def test_the_shipped_scenarios_pass(runner):
    result = runner.invoke(args=["workflows", "test"])
    assert result.exit_code == 0, result.output
    assert "workflows/activation.yaml : 6 scénario(s)" in result.output
    assert "  ✓ Un responsable légal active son compte" in result.output
    assert result.output.rstrip().endswith("0 échec(s).")


def test_a_failing_scenario_prints_file_line_and_exits_1(runner, tmp_path):
    path = tmp_path / "identifiant_oublie.yaml"
    path.write_text(FAILING, encoding="utf-8")
    line = FAILING[: FAILING.index("      path: [identite]\n")].count("\n") + 1
    result = runner.invoke(args=["workflows", "test", str(path)])
    assert result.exit_code == 1
    assert "  ✗ Un parent reçoit son identifiant par SMS" in result.output
    assert "  ✓ Des informations inconnues ne déclenchent aucun SMS" in result.output
    assert f"{path}:{line}: parcours attendu [identite], obtenu [identite, envoye]" in result.output
    assert "2 scénario(s), 1 échec(s)." in result.output


def test_json_output_lists_every_result(runner, tmp_path):
    path = tmp_path / "identifiant_oublie.yaml"
    path.write_text(FAILING, encoding="utf-8")
    result = runner.invoke(args=["workflows", "test", "--json", str(path)])
    assert result.exit_code == 1
    first, second = json.loads(result.output)
    assert first["passed"] is False
    assert first["path"] == ["identite", "envoye"]
    assert first["sent"] == ["sms"]
    assert first["failures"][0]["message"].startswith("parcours attendu")
    assert second == {
        "name": "Des informations inconnues ne déclenchent aucun SMS",
        "file": str(path),
        "line": second["line"],
        "passed": True,
        "failures": [],
        "path": ["identite", "envoye"],
        "sent": [],
        "step": "envoye",
        "status": "completed",
    }
