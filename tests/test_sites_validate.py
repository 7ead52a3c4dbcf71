"""The optional ``site`` column in validation, mapping, the template and the dictionary (issue 16)."""

from __future__ import annotations

from analysis import schema
from analysis.dictionary import data_dictionary
from analysis.mapping import blank_template, suggest_columns
from analysis.validate import load_bytes

EPISODE_HEADER = "participant_id,group,phq9_first,phq9_last,gad7_first,gad7_last,site\n"
SESSION_HEADER = "participant_id,group,session_number,phq9,gad7,site\n"


def _episodes(rows: list[str]) -> bytes:
    return (EPISODE_HEADER + "\n".join(rows) + "\n").encode()


def _sessions(rows: list[str]) -> bytes:
    return (SESSION_HEADER + "\n".join(rows) + "\n").encode()


TWO_SITES = [
    "P1,PA,15,5,12,4,North", "P2,control,14,10,11,9,North", "P3,PA,16,6,12,5,North", "P4,control,13,9,10,8,North",
    "P5,PA,15,5,12,4, South ", "P6,control,14,10,11,9,South", "P7,PA,17,8,13,5,South", "P8,control,12,11,9,9,South",
]


def test_site_is_kept_trimmed_and_needs_no_note_when_every_site_has_both_groups():
    report = load_bytes(_episodes(TWO_SITES), "sites.csv")
    assert report.usable, report.problems
    assert report.episodes["site"].tolist() == ["North"] * 4 + ["South"] * 4
    assert not [n for n in report.notes if n.startswith("Site ")]


def test_a_blank_site_is_a_named_problem_with_row_participant_and_rule():
    rows = [*TWO_SITES, "P9,PA,15,5,12,4,"]
    report = load_bytes(_episodes(rows), "sites.csv")
    assert not report.usable
    [problem] = report.problems
    assert (problem.row, problem.column, problem.code) == (10, "site", "site_blank")
    assert problem.participant == "P9" and "must not be blank" in problem.rule


def test_a_site_column_blank_throughout_is_no_site():
    rows = [r.rsplit(",", 1)[0] + "," for r in TWO_SITES]
    report = load_bytes(_episodes(rows), "sites.csv")
    assert report.usable, report.problems
    assert report.episodes["site"].isna().all()


def test_a_site_with_one_group_is_named_in_a_note_and_the_file_stays_usable():
    rows = [*TWO_SITES, "P9,PA,15,5,12,4,East", "P10,PA,15,7,12,6,East"]
    report = load_bytes(_episodes(rows), "sites.csv")
    assert report.usable, report.problems
    [note] = [n for n in report.notes if n.startswith("Site ")]
    assert "'East'" in note and "row 10" in note and "participant P9" in note
    assert "fewer than 2 control participants" in note
    assert f"at least {schema.SITE_MIN_PER_GROUP} people in each group" in note


def test_a_participant_in_two_sites_is_a_named_problem_in_a_session_file():
    rows = ["P1,PA,1,15,12,North", "P1,PA,2,5,4,South", "P2,control,1,14,11,North", "P2,control,2,10,9,North",
            "P3,PA,1,14,11,North", "P3,PA,2,10,9,North", "P4,control,1,14,11,North", "P4,control,2,10,9,North"]
    report = load_bytes(_sessions(rows), "sessions.csv")
    assert not report.usable
    [problem] = report.problems
    assert (problem.row, problem.column, problem.value, problem.code) == (3, "site", "South", "site_inconsistent")
    assert problem.participant == "P1" and "'North' on row 2" in problem.rule


def test_a_session_file_may_give_the_site_on_one_row_only_and_counts_people_not_rows():
    rows = ["P1,PA,1,15,12,North", "P1,PA,2,5,4,", "P1,PA,3,5,4,", "P2,control,1,14,11,North",
            "P2,control,2,10,9,North", "P3,PA,1,14,11,North", "P3,PA,2,10,9,North",
            "P4,PA,1,14,11,West", "P4,PA,2,10,9,West", "P4,PA,3,10,9,West", "P4,PA,4,10,9,West"]
    report = load_bytes(_sessions(rows), "sessions.csv")
    assert report.usable, report.problems
    assert report.episodes.set_index("participant_id")["site"].to_dict() == {
        "P1": "North", "P2": "North", "P3": "North", "P4": "West"}
    notes = [n for n in report.notes if n.startswith("Site ")]
    assert len(notes) == 2  # North has one control participant (not two rows), West no control
    assert any("'North'" in n and "fewer than 2 control participants" in n for n in notes)
    assert any("'West'" in n and "fewer than 2 physical activity and control participants" in n for n in notes)


def test_a_session_participant_with_no_site_on_any_row_is_named_once():
    rows = ["P1,PA,1,15,12,", "P1,PA,2,5,4,", "P2,control,1,14,11,North", "P2,control,2,10,9,North"]
    report = load_bytes(_sessions(rows), "sessions.csv")
    assert [(p.row, p.code) for p in report.problems] == [(2, "site_blank")]


def test_site_values_of_an_identifiable_id_column_are_never_echoed():
    rows = ["943 476 5919,PA,15,5,12,4,North", "943 476 5870,control,14,10,11,9,", "P3,PA,15,5,12,4,North"]
    report = load_bytes(_episodes(rows), "sites.csv")
    assert report.identifiable
    assert all("943" not in f"{p.rule} {p.value} {p.participant}" for p in report.problems)


def test_site_is_in_the_contract_template_dictionary_and_mapping():
    assert "site" in [c.name for c in schema.EPISODE_COLUMNS]
    assert "site" in [c.name for c in schema.SESSION_COLUMNS]
    assert "site" in blank_template("episode").columns and "site" in blank_template("session").columns
    assert "site" in data_dictionary("episode")["column"].tolist()
    assert "site" in data_dictionary("session")["column"].tolist()
    guesses = suggest_columns(["ID", "Arm", "PHQ9 baseline", "PHQ9 final", "GAD7 baseline", "GAD7 final", "Clinic"])
    assert guesses["Clinic"] == "site"
    assert suggest_columns(["client", "arm", "phq9", "gad7", "session no", "Service name"], "session")[
        "Service name"] == "site"
