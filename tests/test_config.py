"""One YAML file configures Handover; a bad one stops the start naming the file, line and problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bot.cli import app
from bot.config import ConfigError, LeadRule, default_text, load_config, parse

ROOT = Path(__file__).resolve().parent.parent


def problems(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(text, "company.yaml")
    return str(caught.value)


def _key_paths(node: object, path: tuple = ()) -> set[tuple]:
    """Every mapping key in a YAML document, as paths (list positions left out)."""
    out: set[tuple] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            out.add(path + (key,))
            out |= _key_paths(value, path + (key,))
    elif isinstance(node, list):
        for value in node:
            out |= _key_paths(value, path)
    return out


def test_the_defaults_and_the_commented_example_load() -> None:
    defaults = load_config(None)
    example = load_config(ROOT / "handover.example.yaml")
    assert defaults.category("lead").sla.reminders_after_hours == [4, 8]
    assert example.routing.fallback == defaults.routing.fallback
    assert [c.key for c in example.checklist.items] == [c.key for c in defaults.checklist.items]


def test_the_example_shows_every_setting_of_the_defaults() -> None:
    default_keys = _key_paths(yaml.safe_load(default_text()))
    example_text = (ROOT / "handover.example.yaml").read_text()
    missing = default_keys - _key_paths(yaml.safe_load(example_text))
    assert not missing, f"handover.example.yaml lacks {sorted(missing)}"
    assert "# lead_rule:" in example_text and "#   required:" in example_text  # the other lead-rule form
    for shorthand in ("account_owner", "sender", "{team:", "{person:"):
        assert shorthand in example_text


def test_a_file_changes_only_what_it_names() -> None:
    config = parse(
        """
categories:
  lead:
    label: Sales lead
    definition: Ready for sales.
    receiver: Sales
    sla: {decide_within_hours: 8}
""",
        "company.yaml",
    )
    assert config.category("lead").label == "Sales lead"
    assert config.category("lead").sla.decide_within_hours == 8
    assert config.category("prospect").label == "Prospect"  # the other categories keep their defaults
    assert config.routing.fallback == load_config(None).routing.fallback


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("timezone: Europe/Stockholm\nroutting: {}\n", 2, "routting"),
        ("roles:\n  admins: [not-an-email]\n", 2, "e-mail"),
        (
            "routing:\n  fallback: desk@example.com\n  rules:\n    - {when: {}, to: {team: nordic-sales}}\n",
            4,
            "nordic-sales",
        ),
        (
            "checklist:\n  items:\n    - {key: budget, label: Budget}\n  lead_rule: {required: [budgett]}\n",
            4,
            "budgett",
        ),
        (
            "checklist:\n  items:\n    - {key: budget, label: Budget}\n"
            "  lead_rule:\n    n: 1\n    n_of: [budget, budgett]\n",
            6,
            "budgett",
        ),
        (
            "checklist:\n  items:\n    - {key: budget, label: Budget}\n"
            "  lead_rule: {required: [budget], n: 1, n_of: [budget]}\n",
            4,
            "not both",
        ),
        (
            "checklist:\n  items:\n    - {key: budget, label: Budget}\n  lead_rule: {required: [budget], n: 1}\n",
            4,
            "not both",
        ),
        ("working_hours:\n  start: nine o'clock\n", 2, "start"),
        ("working_hours:\n  start: 9:00\n", 2, "HH:MM"),  # unquoted 9:00 is the number 540 in YAML
        (
            "categories:\n  lead:\n    label: Lead\n    definition: Ready.\n    sla:\n      decide_within_hours: eight\n",
            6,
            "decide_within_hours",
        ),
        ("timezone: Mars/Olympus_Mons\n", 1, "Mars/Olympus_Mons"),
        ("routing: [unclosed\n", 2, "not valid YAML"),
        ("timezone: Europe/Stockholm\nroles:\n  admins: [a@example.com\n  reviewers: []\n", 4, "not valid YAML"),
        ("teams: []\ntimezone: UTC\nteams: []\n", 3, "appears twice"),
    ],
)
def test_a_bad_file_names_the_line_and_the_problem(text: str, line: int, words: str) -> None:
    message = problems(text)
    assert f"company.yaml:{line}:" in message, message
    assert words in message, message


def test_every_problem_is_reported_at_once() -> None:
    message = problems("roles:\n  admins: [nobody]\n  reviewers: [also-nobody]\n")
    assert "company.yaml:2:" in message and "company.yaml:3:" in message
    assert len(message.splitlines()) == 2


def test_a_missing_file_is_named() -> None:
    with pytest.raises(ConfigError, match="no-such.yaml"):  # noqa: RUF043  (the dot matches itself too)
        load_config(ROOT / "no-such.yaml")


def test_working_hours_and_holidays() -> None:
    config = parse(
        'working_hours:\n  start: "09:30"\n  end: "18:00"\n  days: [mon, tue]\n  holidays: ["2026-06-19"]\n',
        "company.yaml",
    )
    hours = config.working_hours
    assert (hours.start.hour, hours.start.minute, hours.end.hour) == (9, 30, 18)
    assert hours.days == ["mon", "tue"] and [d.isoformat() for d in hours.holidays.extra] == ["2026-06-19"]
    assert "company.yaml:3:" in problems('working_hours:\n  start: "17:00"\n  end: "08:00"\n')


def test_the_routing_shorthands() -> None:
    config = parse(
        """
routing:
  fallback: Desk@Example.com
  rules:
    - {when: {category: lead}, to: account_owner}
    - {when: {category: prospect}, to: sender}
    - {when: {region: nordics}, to: {team: marketing}}
    - {when: {product_area: [security, network]}, to: {person: Olivia.Grant@example.com}}
""",
        "company.yaml",
    )
    targets = [(r.to.kind, r.to.team, r.to.person) for r in config.routing.rules]
    assert targets == [
        ("account_owner", None, None),
        ("sender", None, None),
        ("team", "marketing", None),
        ("person", None, "olivia.grant@example.com"),
    ]
    assert config.routing.fallback == "desk@example.com"
    assert config.routing.rules[2].when.region == ["nordics"]
    assert "company.yaml:5:" in problems(
        "routing:\n  fallback: desk@example.com\n  rules:\n    - when: {}\n      to: {boss: x}\n"
    )


def test_both_lead_rule_forms() -> None:
    required = LeadRule(required=["painpoint", "budget"])
    assert required.is_met({"painpoint", "budget", "urgency"}) and not required.is_met({"painpoint"})
    assert "Budget" in required.missing({"painpoint"}, {"painpoint": "Painpoint", "budget": "Budget"})
    n_of = LeadRule(n=2, n_of=["painpoint", "budget", "timeframe"])
    assert n_of.is_met({"budget", "timeframe"}) and not n_of.is_met({"budget", "urgency"})
    assert "1 more" in n_of.missing({"budget"})
    assert n_of.missing({"budget", "painpoint"}) == "" and required.missing({"painpoint", "budget"}) == ""
    assert LeadRule(required=["budget"]).keys == ["budget"] and n_of.keys == ["painpoint", "budget", "timeframe"]
    defaults = load_config(None).checklist
    assert not defaults.lead_rule.is_met({"painpoint", "budget", "urgency"})
    assert defaults.lead_rule.is_met({"painpoint", "budget", "urgency", "vertical"})
    assert "Budget" in defaults.lead_rule.missing({"painpoint"}, defaults.labels)
    with pytest.raises(ValueError):
        LeadRule(n=4, n_of=["painpoint", "budget"])  # more than there are
    with pytest.raises(ValueError):
        LeadRule()  # neither form


def test_doctor_reports_a_bad_config_by_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "handover.yaml"
    bad.write_text("timezone: Europe/Stockholm\nteams:\n  - {key: x, name: X, lead: nobody}\n")
    result = CliRunner().invoke(
        app, ["doctor"], env={"HANDOVER_CONFIG": str(bad), "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}"}
    )
    assert result.exit_code != 0
    assert f"{bad}:3:" in result.output, result.output  # the whole path, not folded across lines
    assert "teams[0].lead" in result.output and "e-mail" in result.output


def test_doctor_reports_a_missing_config_file(tmp_path: Path) -> None:
    gone = tmp_path / "nowhere.yaml"
    result = CliRunner().invoke(
        app, ["doctor"], env={"HANDOVER_CONFIG": str(gone), "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}"}
    )
    assert result.exit_code != 0 and str(gone) in result.output
