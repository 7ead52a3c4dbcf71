"""Synthetic data files for the benchmarks: valid, seeded, any size, written fast.

Every participant is invented. The files follow the data contract (the same columns
as the bundled sample: ``data/sample/synthetic_pilot_episodes.csv`` and
``..._sessions.csv``), pass validation, and exercise the code paths a real export
would: blank last scores, non-finishers, anxiety-disorder-specific measures (ADSMs,
including MI's decimal item averages), WSAS and text subgroup columns.

Tables are built column-wise with numpy and written with ``pyarrow.csv`` /
``pyarrow.parquet``, so 10 million session rows take seconds, not minutes.

    python -m benchmarks.generate --episodes 100000 --out benchmarks/out
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

OUT_DIR = Path(__file__).resolve().parent / "out"
SEED = 20240817

AGE_BANDS = ["18-25", "26-35", "36-45", "46-55", "56-65", "66+"]
GENDERS = ["Female", "Male", "Non-binary"]
ETHNICITIES = ["White British", "White other", "Asian or Asian British", "Black or Black British", "Mixed", "Other"]
LTC = ["No", "Yes"]
PROBLEMS = ["Depression", "Generalised anxiety disorder", "Mixed anxiety and depression", "Social anxiety disorder",
            "Panic disorder", "PTSD", "Health anxiety", "Agoraphobia"]
# problem descriptor -> ADSM code and its (minimum, maximum, integer)
ADSM_FOR_PROBLEM = {"Social anxiety disorder": ("SPIN", 0, 68, True), "Panic disorder": ("PDSS", 0, 28, True),
                    "PTSD": ("PCL5", 0, 80, True), "Health anxiety": ("HAI", 0, 54, True),
                    "Agoraphobia": ("MI", 1, 5, False)}
EPOCH_2023 = np.datetime64("2023-01-02", "D")


def _text(values: np.ndarray, labels: list[str]) -> pa.Array:
    """Category codes -> a string array (``-1`` -> null)."""
    codes = pa.array(values, mask=values < 0, type=pa.int32())
    return pa.DictionaryArray.from_arrays(codes, pa.array(labels, type=pa.string())).cast(pa.string())


def _ints(values: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    values = np.asarray(values, dtype=np.int64)
    return pa.array(values, mask=missing, type=pa.int64())


def _ids(n: int, prefix: str = "BEN-") -> pa.Array:
    """``BEN-0000001`` style ids (never 10+ digits, so never mistaken for an NHS number or phone)."""
    width = max(7, len(str(n)))
    return pa.array(np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), width)), type=pa.string())


def _clip_round(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip(np.rint(values), lo, hi)


def _participants(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-participant attributes and first/last scores (numpy, NaN = blank)."""
    is_pa = rng.random(n) < 0.5
    benefit = np.where(is_pa, 1.0, 0.0)
    phq_first = _clip_round(rng.normal(15, 5, n), 0, 27)
    gad_first = _clip_round(rng.normal(13, 4, n), 0, 21)
    phq_last = _clip_round(phq_first - rng.normal(4 + benefit, 5, n), 0, 27)
    gad_last = _clip_round(gad_first - rng.normal(3.5 + benefit, 4, n), 0, 21)
    no_end = rng.random(n) < 0.08
    phq_last[no_end] = np.nan
    gad_last[no_end & (rng.random(n) < 0.9)] = np.nan
    sessions = np.minimum(rng.poisson(6, n), 20)
    problem = rng.integers(0, len(PROBLEMS), n)
    adsm_code = np.full(n, -1)
    adsm_first = np.full(n, np.nan)
    adsm_last = np.full(n, np.nan)
    codes = [code for code, *_ in ADSM_FOR_PROBLEM.values()]
    for p, (code, lo, hi, integer) in ADSM_FOR_PROBLEM.items():
        rows = np.flatnonzero(problem == PROBLEMS.index(p))
        adsm_code[rows] = codes.index(code)
        span = hi - lo
        first = lo + span * np.clip(rng.normal(0.55, 0.15, len(rows)), 0, 1)
        last = first - span * rng.normal(0.12, 0.12, len(rows))
        if integer:
            first, last = _clip_round(first, lo, hi), _clip_round(last, lo, hi)
        else:
            first, last = np.clip(np.round(first, 2), lo, hi), np.clip(np.round(last, 2), lo, hi)
        last[rng.random(len(rows)) < 0.1] = np.nan
        adsm_first[rows], adsm_last[rows] = first, last
    wsas_first = _clip_round(rng.normal(20, 8, n), 0, 40)
    wsas_last = _clip_round(wsas_first - rng.normal(5, 7, n), 0, 40)
    wsas_last[rng.random(n) < 0.15] = np.nan
    return {
        "is_pa": is_pa, "phq_first": phq_first, "phq_last": phq_last, "gad_first": gad_first,
        "gad_last": gad_last, "sessions": sessions, "problem": problem, "adsm_code": adsm_code,
        "adsm_first": adsm_first, "adsm_last": adsm_last, "wsas_first": wsas_first, "wsas_last": wsas_last,
        "pa_sessions": np.where(is_pa, rng.integers(0, 13, n), 0),
        "age": rng.integers(0, len(AGE_BANDS), n), "gender": rng.choice(3, n, p=[0.6, 0.37, 0.03]),
        "ethnicity": rng.integers(0, len(ETHNICITIES), n), "ltc": (rng.random(n) < 0.3).astype(int),
        "adsm_codes": np.array(codes),
    }


def _floats(values: np.ndarray) -> pa.Array:
    """Scores that may have decimals (the MI item average); NaN -> null. Whole values are written as ``24``."""
    return pa.array(values, from_pandas=True, type=pa.float64())


def episode_table(n: int, seed: int = SEED) -> pa.Table:
    """``n`` invented participants, one row each, in the episode-level contract."""
    rng = np.random.default_rng(seed)
    p = _participants(n, rng)
    adsm_labels = [str(c) for c in p["adsm_codes"]]
    columns = {
        "participant_id": _ids(n),
        "group": _text(np.where(p["is_pa"], 0, 1), ["physical_activity", "control"]),
        "phq9_first": _ints(p["phq_first"]),
        "phq9_last": _ints(np.nan_to_num(p["phq_last"]), np.isnan(p["phq_last"])),
        "gad7_first": _ints(p["gad_first"]),
        "gad7_last": _ints(np.nan_to_num(p["gad_last"]), np.isnan(p["gad_last"])),
        "treatment_sessions": _ints(p["sessions"]),
        "adsm_measure": _text(p["adsm_code"], adsm_labels),
        "adsm_first": _floats(p["adsm_first"]),
        "adsm_last": _floats(p["adsm_last"]),
        "wsas_first": _ints(p["wsas_first"]),
        "wsas_last": _ints(np.nan_to_num(p["wsas_last"]), np.isnan(p["wsas_last"])),
        "pa_sessions": _ints(p["pa_sessions"]),
        "age_band": _text(p["age"], AGE_BANDS),
        "gender": _text(p["gender"], GENDERS),
        "ethnicity": _text(p["ethnicity"], ETHNICITIES),
        "ltc": _text(p["ltc"], LTC),
        "problem_descriptor": _text(p["problem"], PROBLEMS),
    }
    return pa.table(columns)


def session_table(n_rows: int, seed: int = SEED) -> pa.Table:
    """About ``n_rows`` session rows (exactly ``n_rows``), one per participant per session.

    Each participant has 1–20 sessions (mean about 6), numbered 1, 2, ... and dated a
    week apart; PHQ-9 and GAD-7 move from the first towards the last score with noise and
    are blank at about 1 in 12 later sessions; the ADSM and WSAS are recorded at the first
    and last session.
    """
    rng = np.random.default_rng(seed)
    n_people = max(1, int(n_rows / 6.0 * 1.05) + 10)
    p = _participants(n_people, rng)
    counts = np.clip(p["sessions"], 1, None)
    ends = np.cumsum(counts)
    n_people = int(np.searchsorted(ends, n_rows) + 1)
    counts = counts[:n_people].copy()
    counts[-1] -= int(ends[n_people - 1] - n_rows)
    person = np.repeat(np.arange(n_people), counts)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    number = np.arange(n_rows) - starts[person] + 1  # 1..k
    k = counts[person]
    progress = np.where(k > 1, (number - 1) / np.maximum(k - 1, 1), 0.0)
    is_first, is_last = number == 1, number == k

    def trajectory(first: np.ndarray, last: np.ndarray, hi: float, noise: float) -> tuple[np.ndarray, np.ndarray]:
        f, la = first[person], last[person]
        target = np.where(np.isnan(la), f, la)
        values = _clip_round(f + (target - f) * progress + rng.normal(0, noise, n_rows) * (~is_first), 0, hi)
        values = np.where(is_first, f, values)
        values = np.where(is_last & ~np.isnan(la), la, values)
        blank = (~is_first & (rng.random(n_rows) < 1 / 12)) | (is_last & np.isnan(la) & ~is_first)
        return values, blank

    phq, phq_blank = trajectory(p["phq_first"], p["phq_last"], 27, 2.0)
    gad, gad_blank = trajectory(p["gad_first"], p["gad_last"], 21, 1.5)
    has_adsm = p["adsm_code"][person] >= 0
    adsm = np.where(is_first, p["adsm_first"][person], np.where(is_last, p["adsm_last"][person], np.nan))
    adsm[~has_adsm] = np.nan
    wsas = np.where(is_first, p["wsas_first"][person], np.where(is_last, p["wsas_last"][person], np.nan))
    start_day = rng.integers(0, 700, n_people)
    dates = (EPOCH_2023 + (start_day[person] + 7 * (number - 1)).astype("timedelta64[D]"))
    adsm_labels = [str(c) for c in p["adsm_codes"]]
    columns = {
        "participant_id": _ids(n_people).take(pa.array(person)),
        "group": _text(np.where(p["is_pa"], 0, 1)[person], ["physical_activity", "control"]),
        "session_number": _ints(number),
        "session_date": pa.array(dates, type=pa.date32()),
        "phq9": _ints(phq, phq_blank),
        "gad7": _ints(gad, gad_blank),
        "adsm_measure": _text(np.where(has_adsm, p["adsm_code"][person], -1), adsm_labels),
        "adsm": _floats(adsm),
        "wsas": _ints(np.nan_to_num(wsas), np.isnan(wsas)),
        "age_band": _text(p["age"][person], AGE_BANDS),
        "gender": _text(p["gender"][person], GENDERS),
        "ethnicity": _text(p["ethnicity"][person], ETHNICITIES),
        "ltc": _text(p["ltc"][person], LTC),
        "problem_descriptor": _text(p["problem"][person], PROBLEMS),
        "pa_sessions": _ints(p["pa_sessions"][person]),
    }
    return pa.table(columns)


def write_csv(table: pa.Table, path: Path) -> Path:
    """Plain CSV as spreadsheets export it: comma-separated, header row, no quotes, blanks for missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as sink:
        sink.write((",".join(table.column_names) + "\n").encode())
        pa_csv.write_csv(table, sink, write_options=pa_csv.WriteOptions(include_header=False, quoting_style="none"))
    tmp.replace(path)
    return path


def write_parquet(table: pa.Table, path: Path) -> Path:
    """Parquet as pandas writes it (``DataFrame.to_parquet``): a whole-number column with blanks is
    float64 (pandas has no missing integer by default), text is text, snappy compression."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [column.cast(pa.float64()) if pa.types.is_integer(column.type) and column.null_count else column
               for column in table.columns]
    table = pa.table(columns, names=table.column_names)
    tmp = path.with_suffix(path.suffix + ".tmp")
    pq.write_table(table, tmp, compression="snappy")
    tmp.replace(path)
    return path


def _files(stem: str, n: int, make_table: Callable[[int], pa.Table], out_dir: Path,
           parquet: bool) -> tuple[Path, Path | None]:
    """(CSV, Parquet or None) named ``<stem>_<n>``, generated once and reused (same seed, same bytes)."""
    csv_path = out_dir / f"{stem}_{n}.csv"
    pq_path = out_dir / f"{stem}_{n}.parquet"
    table = None
    if not csv_path.exists():
        table = make_table(n)
        write_csv(table, csv_path)
    if parquet and not pq_path.exists():
        write_parquet(table if table is not None else make_table(n), pq_path)
    return csv_path, (pq_path if parquet else None)


def episode_files(n: int, out_dir: Path = OUT_DIR, parquet: bool = True) -> tuple[Path, Path | None]:
    """(CSV, Parquet) of ``n`` episodes."""
    return _files("episodes", n, episode_table, out_dir, parquet)


def session_file(n_rows: int, out_dir: Path = OUT_DIR, parquet: bool = False) -> tuple[Path, Path | None]:
    """(CSV, Parquet or None) of ``n_rows`` session rows."""
    return _files("sessions", n_rows, session_table, out_dir, parquet)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, nargs="*", default=[], help="episode counts to write (CSV + Parquet)")
    parser.add_argument("--sessions", type=int, nargs="*", default=[], help="session row counts to write (CSV)")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    for n in args.episodes:
        print(*[p for p in episode_files(n, args.out) if p])
    for n in args.sessions:
        print(session_file(n, args.out)[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
