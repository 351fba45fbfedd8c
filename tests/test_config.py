"""One YAML file configures Handover; a bad one stops the start naming the file, line and problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import ConfigError, LeadRule, load_config, parse

ROOT = Path(__file__).resolve().parent.parent


def problems(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(text, "company.yaml")
    return str(caught.value)


def test_the_defaults_and_the_commented_example_load() -> None:
    defaults = load_config(None)
    example = load_config(ROOT / "handover.example.yaml")
    assert defaults.category("lead").sla.reminders_after_hours == [4, 8]
    assert example.routing.fallback == defaults.routing.fallback
    assert [c.key for c in example.checklist.items] == [c.key for c in defaults.checklist.items]


def test_a_file_changes_only_what_it_names() -> None:
    config = parse("""
categories:
  lead:
    label: Sales lead
    definition: Ready for sales.
    receiver: Sales
    sla: {decide_within_hours: 8}
""", "company.yaml")
    assert config.category("lead").label == "Sales lead"
    assert config.category("lead").sla.decide_within_hours == 8
    assert config.category("prospect").label == "Prospect"  # the other categories keep their defaults
    assert config.routing.fallback == load_config(None).routing.fallback


@pytest.mark.parametrize("text, line, words", [
    ("timezone: Europe/Stockholm\nroutting: {}\n", 2, "routting"),
    ("roles:\n  admins: [not-an-email]\n", 2, "e-mail"),
    ("routing:\n  fallback: desk@example.com\n  rules:\n    - {when: {}, to: {team: nordic-sales}}\n", 4,
     "nordic-sales"),
    ("checklist:\n  items:\n    - {key: budget, label: Budget}\n  lead_rule: {required: [budgett]}\n", 1, "budgett"),
    ("checklist:\n  items:\n    - {key: budget, label: Budget}\n"
     "  lead_rule: {required: [budget], n: 1, n_of: [budget]}\n", 4, "lead_rule"),
    ("working_hours:\n  start: nine o'clock\n", 2, "start"),
    ("timezone: Mars/Olympus_Mons\n", 1, "Mars/Olympus_Mons"),
    ("routing: [unclosed\n", 2, "not valid YAML"),
])
def test_a_bad_file_names_the_line_and_the_problem(text: str, line: int, words: str) -> None:
    message = problems(text)
    assert f"company.yaml:{line}" in message
    assert words in message


def test_both_lead_rule_forms() -> None:
    required = LeadRule(required=["painpoint", "budget"])
    assert required.is_met({"painpoint", "budget", "urgency"}) and not required.is_met({"painpoint"})
    assert "Budget" in required.missing({"painpoint"}, {"painpoint": "Painpoint", "budget": "Budget"})
    n_of = LeadRule(n=2, n_of=["painpoint", "budget", "timeframe"])
    assert n_of.is_met({"budget", "timeframe"}) and not n_of.is_met({"budget", "urgency"})
    assert "1 more" in n_of.missing({"budget"})


def test_doctor_reports_a_bad_config_by_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "handover.yaml"
    bad.write_text("timezone: Europe/Stockholm\nteams:\n  - {key: x, name: X, lead: nobody}\n")
    result = CliRunner().invoke(app, ["doctor"], env={"HANDOVER_CONFIG": str(bad),
                                                     "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}"})
    assert result.exit_code != 0
    assert f"{bad}:3" in result.output or "handover.yaml:3" in result.output
