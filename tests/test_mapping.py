"""analysis/mapping.py: column and group suggestions, saved mappings, the blank template."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from analysis import schema
from analysis.export import table_to_csv_bytes, table_to_xlsx_bytes
from analysis.io import read_table
from analysis.mapping import (
    MAPPING_FORMAT,
    MappingFileError,
    SavedMapping,
    blank_template,
    column_suggestions,
    guess_level,
    mapping_for_columns,
    mapping_from_choices,
    mapping_from_json,
    mapping_to_json,
    normalise_name,
    required_targets,
    suggest_columns,
    suggest_group,
    suggest_groups,
    targets,
    unrecognised_labels,
)
from analysis.validate import apply_mapping, load_bytes, validate

ROOT = Path(__file__).resolve().parents[1]
UPLOAD = ROOT / "tests" / "data" / "upload"


# --- normalising -------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("PHQ-9 Start", "phq9 start"), ("PHQ 9 start", "phq9 start"), ("clientID", "client id"),
    ("GAD_7_end", "gad7 end"), ("phq9First", "phq9 first"), ("  Arm  ", "arm"), ("\ufeffparticipant_id", "participant id"),
    ("PCL-5 baseline", "pcl5 baseline"), ("ADSMMeasure", "adsm measure"), ("No. of sessions", "no of sessions"),
])
def test_normalise_name(name, expected):
    assert normalise_name(name) == expected


# --- column suggestions --------------------------------------------------------------------------


@pytest.mark.parametrize(("column", "target"), [
    # the examples
    ("PHQ9 Start", "phq9_first"), ("Arm", "group"), ("Client ID", "participant_id"), ("GAD7 End", "gad7_last"),
    # measure + time point, in many spellings
    ("PHQ-9 (baseline)", "phq9_first"), ("Baseline GAD-7", "gad7_first"), ("PHQ9_1st", "phq9_first"),
    ("PHQ-9 final score", "phq9_last"), ("GAD-7 post", "gad7_last"), ("GAD 7 pre", "gad7_first"),
    ("phq9First", "phq9_first"), ("PHQ9 (last available)", "phq9_last"), ("Depression start", "phq9_first"),
    ("Anxiety end", "gad7_last"), ("WSAS start", "wsas_first"), ("WSAS end", "wsas_last"),
    ("Work and social adjustment baseline", "wsas_first"),
    # synonyms
    ("Participant", "participant_id"), ("Pseudo ID", "participant_id"), ("Client_Ref", "participant_id"),
    ("ID", "participant_id"), ("Allocated arm", "group"), ("Treatment group", "group"),
    ("Sessions attended", "treatment_sessions"), ("No. of sessions", "treatment_sessions"),
    ("Number of appointments", "treatment_sessions"), ("PA sessions", "pa_sessions"),
    ("Exercise sessions attended", "pa_sessions"), ("ADSM measure", "adsm_measure"), ("ADSM first", "adsm_first"),
    ("Age group", "age_band"), ("Sex", "gender"), ("Ethnic group", "ethnicity"), ("LTC", "ltc"),
    ("Presenting problem", "problem_descriptor"),
    # close spelling
    ("Partcipant id", "participant_id"),
    # contract names map to themselves
    *((name, name) for name in targets("episode")),
])
def test_suggest_column_alone(column, target):
    assert suggest_columns([column], "episode") == {column: target}


@pytest.mark.parametrize("column", ["Notes", "Therapist", "Referral date", "Colour", "x"])
def test_unrelated_columns_get_no_suggestion(column):
    suggestion = column_suggestions([column], "episode")[0]
    assert suggestion.target is None and suggestion.score == 0


@pytest.mark.parametrize("column", ["NHS Number", "Surname", "Date of birth", "Client name", "Postcode", "Email",
                                    "Patient NHS No", "Mobile number"])
def test_identifying_columns_are_never_suggested(column):
    suggestion = column_suggestions([column, "Client ID"], "episode")[0]
    assert suggestion.target is None
    assert "identifies people" in suggestion.reason


def test_each_target_goes_to_the_best_column_only():
    result = suggest_columns(["PHQ start", "PHQ9 First", "Client", "participant_id"], "episode")
    assert result == {"PHQ start": None, "PHQ9 First": "phq9_first", "Client": None,
                      "participant_id": "participant_id"}


def test_full_renamed_file_is_suggested_completely():
    frame = pd.read_csv(UPLOAD / "renamed_columns.csv", nrows=0)
    assert suggest_columns(frame.columns) == {
        "Client ID": "participant_id", "Arm": "group", "PHQ9 Start": "phq9_first", "PHQ9 End": "phq9_last",
        "GAD7 Start": "gad7_first", "GAD7 End": "gad7_last", "Sessions attended": "treatment_sessions",
        "Sex": "gender"}


def test_sample_columns_map_to_themselves_at_both_levels():
    for name, level in (("synthetic_pilot_episodes.csv", "episode"), ("synthetic_pilot_sessions.csv", "session")):
        columns = list(pd.read_csv(ROOT / "data" / "sample" / name, nrows=0).columns)
        assert guess_level(columns) == level
        assert suggest_columns(columns) == {c: c for c in columns}


def test_session_level_suggestions():
    columns = ["Client", "Arm", "Session", "Appointment date", "PHQ-9", "GAD-7", "ADSM type", "ADSM"]
    assert guess_level(columns) == "session"
    assert suggest_columns(columns) == {
        "Client": "participant_id", "Arm": "group", "Session": "session_number",
        "Appointment date": "session_date", "PHQ-9": "phq9", "GAD-7": "gad7", "ADSM type": "adsm_measure",
        "ADSM": "adsm"}


def test_guess_level_episode_when_scores_have_time_points():
    assert guess_level(["Client", "Arm", "Date", "PHQ9 start", "PHQ9 end"]) == "episode"
    assert guess_level([]) == "episode"


def test_reasons_and_scores_rank_the_kind_of_match():
    by_column = {s.column: s for s in column_suggestions(["group", "PHQ9 Start", "Client ID", "Partcipant id"])}
    assert by_column["group"].score == 1.0 and by_column["group"].reason == "same name"
    assert by_column["PHQ9 Start"].score == 0.95 and "PHQ-9" in by_column["PHQ9 Start"].reason
    assert by_column["Client ID"].score == 0.9
    assert by_column["Partcipant id"].target is None  # participant_id already taken by "Client ID" (0.9 > 0.77)


def test_targets_and_required():
    assert set(schema.REQUIRED_EPISODE_COLUMNS) <= set(targets("episode"))
    assert required_targets("session") == schema.REQUIRED_SESSION_COLUMNS
    assert "baseline_severity" not in targets("episode")  # derived by the dashboard, never uploaded
    with pytest.raises(ValueError):
        targets("patient")
    with pytest.raises(ValueError):
        required_targets("patient")


# --- group labels -------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "group"), [
    ("physical_activity", "physical_activity"), ("PA", "physical_activity"), ("Control", "control"),
    ("Exercise", "physical_activity"), ("Intervention", "physical_activity"), ("physical-activity", "physical_activity"),
    ("Physical Activity group", "physical_activity"), ("Exercise + talking therapy", "physical_activity"),
    ("Exercize", "physical_activity"),
    ("TAU", "control"), ("Usual care", "control"), ("Treatment as usual", "control"), ("Waiting list", "control"),
    ("No exercise", "control"), ("Non-PA", "control"), ("Talking therapy only", "control"), ("Controll", "control"),
    ("A", None), ("1", None), ("", None), ("control (exercise)", None), ("Group 2", None), (None, None),
    (float("nan"), None),
])
def test_suggest_group(label, group):
    assert suggest_group(label) == group


def test_suggest_groups_distinct_trimmed_in_order():
    assert suggest_groups(["Exercise", " TAU", "Exercise ", None, "", "Other"]) == {
        "Exercise": "physical_activity", "TAU": "control", "Other": None}


def test_unrecognised_labels():
    values = pd.Series(["Exercise", "control", " TAU ", None, "PA", "Exercise"], dtype="str")
    assert unrecognised_labels(values) == ["Exercise", "TAU"]
    assert unrecognised_labels(pd.Series([f"id{i}" for i in range(50)]), limit=30) is None
    assert unrecognised_labels(pd.Series(["control", "physical_activity"])) == []


# --- saved mappings -------------------------------------------------------------------------------


def test_mapping_round_trip_through_json():
    mapping = SavedMapping({"Client ID": "participant_id", "Arm": "group"},
                           {"Exercise": "physical_activity", "TAU": "control"}, "episode")
    data = mapping_to_json(mapping)
    document = json.loads(data)
    assert document["format"] == MAPPING_FORMAT and document["version"] == 1
    assert mapping_from_json(data) == mapping
    assert mapping_from_json(data.decode("utf-8")) == mapping
    assert mapping_from_json(b"\xef\xbb\xbf" + data) == mapping  # a BOM added by an editor


def test_mapping_json_holds_names_only_never_data():
    mapping = SavedMapping({"Client ID": "participant_id"}, {"Exercise": "physical_activity"}, "episode")
    assert set(json.loads(mapping_to_json(mapping))) == {"format", "version", "level", "columns", "groups"}


def _doc(**changes):
    document = {"format": MAPPING_FORMAT, "version": 1, "level": "episode", "columns": {"Arm": "group"},
                "groups": {"TAU": "control"}}
    document.update(changes)
    return json.dumps(document).encode()


@pytest.mark.parametrize(("data", "message"), [
    (b"not json at all", "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b"[1, 2]", "not a column mapping file saved by this dashboard"),
    (json.dumps({"columns": {"Arm": "group"}}).encode(), "not a column mapping file saved by this dashboard"),
    (_doc(version=2), "different version"),
    (_doc(version="1"), "different version"),
    (_doc(columns={"Arm": "arm_of_trial"}), "'arm_of_trial' is not a column the dashboard knows"),
    (_doc(columns={"Arm": "group", "Cohort": "group"}), "More than one column is mapped to group"),
    (_doc(columns={"Arm": 3}), "must be pairs of text"),
    (_doc(groups={"TAU": "placebo"}), "must map to physical_activity or control"),
    (_doc(level="weekly"), "must be 'episode' or 'session'"),
    (_doc(level=3), "must be 'episode' or 'session'"),
    (b" " * 100_001, "too large"),
])
def test_bad_mapping_files_are_refused_with_a_reason(data, message):
    with pytest.raises(MappingFileError, match=message):
        mapping_from_json(data)


def test_mapping_to_json_refuses_an_invalid_mapping():
    with pytest.raises(MappingFileError):
        mapping_to_json(SavedMapping({"A": "group", "B": "group"}))


def test_mapping_for_columns_keeps_only_what_fits():
    saved = SavedMapping({"Arm": "group", "Old": "phq9_first", "Client": "participant_id", "group": "group",
                          "Cohort": "phq9_last"}, {"TAU": "control"}, "episode")
    fitted = mapping_for_columns(saved, ["Arm", "Client", "participant_id", "group", "Cohort"])
    # "Old" is not in the file; "group" needs no rename; "Client" and "Arm" would clash with the file's own
    # participant_id and group columns, which are not renamed.
    assert fitted.columns == {"Cohort": "phq9_last"}
    assert fitted.groups == {"TAU": "control"}
    assert mapping_for_columns(saved, ["Arm", "Client"]).columns == {"Arm": "group", "Client": "participant_id"}


def test_mapping_from_choices():
    mapping = mapping_from_choices({"participant_id": "Client", "group": "Arm", "phq9_first": "phq9_first",
                                    "gad7_last": None}, ["Exercise"], ["TAU"], "episode")
    assert mapping.columns == {"Client": "participant_id", "Arm": "group"}
    assert mapping.groups == {"Exercise": "physical_activity", "TAU": "control"}
    with pytest.raises(MappingFileError, match="'Arm' is chosen for both group and participant_id"):
        mapping_from_choices({"group": "Arm", "participant_id": "Arm"})
    with pytest.raises(MappingFileError, match="'TAU' is chosen for both groups"):
        mapping_from_choices({}, ["TAU"], ["TAU"])


def test_suggestions_make_a_renamed_file_valid():
    """The end-to-end promise: accept the suggestions and the file passes validation unchanged otherwise."""
    content = (UPLOAD / "renamed_columns.csv").read_bytes()
    raw = read_table(content, "renamed_columns.csv")
    assert not validate(raw).usable
    columns = {c: t for c, t in suggest_columns(raw.frame.columns).items() if t and t != c}
    groups = {label: g for label, g in suggest_groups(raw.frame["Arm"]).items() if g}
    report = validate(apply_mapping(raw, columns, groups))
    assert report.usable, report.problems
    assert report.episodes["group"].value_counts().to_dict() == {"physical_activity": 3, "control": 3}
    assert report.episodes["participant_id"].tolist() == ["C01", "C02", "C03", "C04", "C05", "C06"]
    assert report.episodes["phq9_first"].tolist() == [15, 18, 11, 20, 14, 12]


# --- template -------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["episode", "session"])
def test_blank_template_has_the_contract_columns(level):
    template = blank_template(level)
    contract = schema.EPISODE_COLUMNS if level == "episode" else schema.SESSION_COLUMNS
    assert len(template) == 0
    assert list(template.columns[:len(contract)]) == [c.name for c in contract]
    assert list(template.columns) == list(targets(level))


def test_filled_in_template_validates():
    header = table_to_csv_bytes(blank_template("episode")).decode("utf-8-sig").strip()
    rows = ["P1,physical_activity,15,8,12,6,8,,,,,,,,,,,", "P2,control,18,14,13,11,6,,,,,,,,,,,"]
    report = load_bytes(("\n".join([header, *rows]) + "\n").encode(), "template.csv")
    assert report.usable, report.problems


def test_template_xlsx_has_the_header_row():
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(table_to_xlsx_bytes(blank_template("session"))))
    header = [cell.value for cell in next(book.active.iter_rows(max_row=1))]
    assert header == list(targets("session"))
