"""Issue 18 item 14: validation messages name the participant beside the row, and say how dates were read."""

from __future__ import annotations

from analysis.validate import HIDDEN, load_bytes

HEADER = "participant_id,group,phq9_first,phq9_last,gad7_first,gad7_last\n"


def test_a_cell_problem_names_the_participant_of_its_row() -> None:
    report = load_bytes((HEADER + "P001,PA,15,8,12,6\n  P002 ,control,30,14,13,11\nP003,PA,11,,9,\n").encode(),
                        "x.csv")
    problem = next(p for p in report.problems if p.code == "out_of_range")
    assert (problem.row, problem.participant, problem.column, problem.value) == (3, "P002", "phq9_first", "30")
    frame = report.problems_frame()
    assert frame.loc[0, "participant"] == "P002"


def test_whole_file_and_blank_id_problems_name_no_participant() -> None:
    report = load_bytes((HEADER + "P001,PA,15,8,12,6\n,control,12,14,13,11\n").encode(), "x.csv")
    blank = next(p for p in report.problems if p.code == "blank_id")
    assert blank.row == 3 and blank.participant is None
    missing = load_bytes(b"participant_id,group\nP1,PA\n", "x.csv").problems
    assert all(p.participant is None for p in missing if p.code == "missing_column")


def test_an_identifying_id_column_is_never_echoed_as_the_participant() -> None:
    report = load_bytes((HEADER + "943 476 5919,PA,15,8,12,6\n").encode(), "x.csv")
    assert report.identifiable
    assert all(p.participant in (None, HIDDEN) for p in report.problems)


def test_the_command_line_names_the_participant() -> None:
    from analysis.__main__ import _problem_lines

    report = load_bytes((HEADER + "P001,PA,15,8,12,6\nP002,control,30,14,13,11\n").encode(), "x.csv")
    assert _problem_lines(report)[0].startswith("- row 3 (participant P002), column 'phq9_first'")


SESSION_HEADER = "participant_id,group,session_number,session_date,phq9,gad7\n"


def _sessions(dates: list[str]) -> bytes:
    lines = [f"C{i // 2},{'PA' if i // 2 % 2 else 'control'},{i % 2 + 1},{d},{12 - i % 2},{10 - i % 2}"
             for i, d in enumerate(dates)]
    return (SESSION_HEADER + "\n".join(lines) + "\n").encode()


def test_a_note_says_slashed_dates_were_read_day_first() -> None:
    report = load_bytes(_sessions(["02/03/2024", "09/03/2024", "04/03/2024", "25/03/2024"]), "s.csv")
    assert report.usable
    note = next(n for n in report.notes if "session_date" in n)
    assert "day/month/year" in note and "4 dates read this way" in note
    assert report.sessions["session_date"].dt.month.tolist() == [3, 3, 3, 3]


def test_a_month_first_date_is_named_as_us_order() -> None:
    report = load_bytes(_sessions(["03/02/2024", "03/31/2024", "04/03/2024", "04/10/2024"]), "s.csv")
    problem = next(p for p in report.problems if p.code == "date_invalid")
    assert (problem.row, problem.participant, problem.value) == (3, "C0", "03/31/2024")
    assert "day/month/year" in problem.rule and "month first (US order" in problem.rule
    assert "DD/MM/YYYY" in problem.fix
    note = next(n for n in report.notes if "session_date" in n)
    assert "1 date only makes sense month first" in note


def test_iso_dates_need_no_note() -> None:
    report = load_bytes(_sessions(["2024-03-02", "2024-03-09", "2024-03-04", "2024-03-25"]), "s.csv")
    assert report.usable and not any("session_date" in n for n in report.notes)
