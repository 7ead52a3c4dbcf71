"""Issue 18 item 4: a file that only needs its columns (or group labels) matched is not an error.

The Data page leads with the mapping and lists only the problems the file has as the suggested
mapping will use it; validation no longer says "only control participants" while some group labels
are still unmatched.
"""

from __future__ import annotations

import io

import openpyxl

from analysis.io import read_table
from analysis.mapping import suggested_mapping
from analysis.validate import load_bytes
from dashboard import upload as up
from tests.test_page_data import UPLOAD, button, in_use, new_session, problems, upload_bytes, upload_file

RENAMED = (UPLOAD / "renamed_columns.csv").read_text(encoding="utf-8")


def _session_csv(labels: tuple[str, str] = ("PA + TT", "Control"), people: int = 12) -> bytes:
    rows = ["participant_id,group,session_number,session_date,phq9,gad7"]
    for i in range(people):
        for s in range(1, 4):
            rows.append(f"C{i:03d},{labels[i % 2]},{s},2024-03-{s + 1:02d},{18 - 3 * s},{15 - 2 * s}")
    return ("\n".join(rows) + "\n").encode()


def _xlsx(text: str) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for line in text.strip().splitlines():
        sheet.append([int(v) if v.isdigit() else (v or None) for v in line.split(",")])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _page_words(at) -> str:
    return "\n".join([e.value for e in at.error] + [w.value for w in at.warning] + [i.value for i in at.info]
                     + [s.value for s in at.success] + [m.value for m in at.markdown])


def test_unmatched_group_labels_do_not_claim_one_group() -> None:
    report = load_bytes(_session_csv(), "sessions.csv")
    codes = {p.code for p in report.problems}
    assert "group_unknown" in codes and "one_group" not in codes
    assert not any("only has control participants" in p.rule for p in report.problems)


def test_the_suggested_mapping_covers_columns_and_labels() -> None:
    mapping = suggested_mapping(read_table(RENAMED.encode(), "x.csv").frame)
    assert mapping.columns["Client ID"] == "participant_id" and mapping.columns["Arm"] == "group"
    assert mapping.groups == {"Exercise": "physical_activity", "TAU": "control"}


def test_renamed_columns_lead_with_the_mapping_and_no_error() -> None:
    at = upload_file(new_session(), UPLOAD / "renamed_columns.csv")
    assert not at.exception
    assert not at.error, [e.value for e in at.error]  # was "6 problems found: the file is not analysed"
    words = _page_words(at)
    assert "Match them to the dashboard's first" in words
    assert "finds no problem" in words
    assert "problems found" not in words
    assert at.session_state[up.ATTEMPT_KEY].preview.problems == []
    button(at, "Use these columns").click().run()
    assert in_use(at) is not None


def test_an_excel_export_with_client_id_and_arm_is_not_an_error() -> None:
    at = upload_bytes(new_session(), "export.xlsx", _xlsx(RENAMED))
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Match them to the dashboard's first" in _page_words(at)
    assert not any("None" in str(v) for frame in [*at.table, *at.dataframe] for v in frame.value.get("Row in your file", []))


def test_a_session_file_with_its_own_group_labels_leads_with_the_labels() -> None:
    at = upload_bytes(new_session(), "sessions.csv", _session_csv())
    assert not at.exception and not at.error, [e.value for e in at.error]
    words = _page_words(at)
    assert "only has control participants" not in words
    assert "Group labels" in words and "finds no problem" in words
    button(at, "Use these columns").click().run()
    dataset = in_use(at)
    assert dataset is not None and set(dataset.episodes["group"]) == {"physical_activity", "control"}


def test_only_the_problems_of_the_mapped_file_are_listed() -> None:
    text = RENAMED.replace("C02,TAU,18,", "C02,TAU,31,")
    at = upload_bytes(new_session(), "renamed.csv", text.encode())
    assert not at.exception and not at.error
    assert any("finds 1 problem to fix" in w.value for w in at.warning)
    table = problems(at)
    assert len(table) == 1
    assert (table.iloc[0]["Row in your file"], table.iloc[0]["Participant"], table.iloc[0]["Column"]) == (
        "3", "C02", "PHQ9 Start (read as phq9_first)")  # the column as the person will look for it


def test_the_problems_table_names_the_participant_except_in_safe_mode() -> None:
    text = RENAMED.replace("Client ID", "participant_id").replace("Arm", "group").replace("PHQ9 Start", "phq9_first")
    text = text.replace("Exercise", "PA").replace("TAU", "control").replace("C02,control,18,", "C02,control,31,")
    at = upload_bytes(new_session(), "ids.csv", text.encode())
    table = problems(at)
    row = table[table["Column"] == "phq9_first"].iloc[0]
    assert (row["Row in your file"], row["Participant"]) == ("3", "C02")
    assert "None" not in set(table["Row in your file"])  # a whole-file problem says so instead
    safe = upload_bytes(new_session(safe=True), "ids.csv", text.encode())
    assert "Participant" not in problems(safe).columns and "Value" not in problems(safe).columns


def test_after_the_mapping_is_used_problems_name_the_files_own_column() -> None:
    at = upload_bytes(new_session(), "renamed.csv", RENAMED.replace("C02,TAU,18,", "C02,TAU,31,").encode())
    button(at, "Use these columns").click().run()
    assert not at.exception and at.error  # a real problem now: the file is not analysed
    row = problems(at).iloc[0]
    assert (row["Participant"], row["Column"]) == ("C02", "PHQ9 Start (read as phq9_first)")
