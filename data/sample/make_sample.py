"""Make the bundled SYNTHETIC pilot sample (episode and session level). Seeded.

    python data/sample/make_sample.py

Every participant is invented. The data are calibrated to the published headline
figures of the Community Living Well evaluation (shared/seeds/002_b2cfbb07bc3ebb2b.txt):
38 participants, 19 physical activity and 19 control; recovery 12 of 19 (63%) in the
physical activity group and 5 of 14 at caseness (36%) in control; mean PHQ-9 and GAD-7
falls about twice as large in the physical activity group; no primary comparison
significant at 0.05. Each participant's scores are drawn until the outcome flags (computed
by analysis.outcomes, the same rules the dashboard uses) match the participant's target;
then whole samples are drawn from successive seeds until the group-level calibration holds.
The seed that was used is printed when the script runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from analysis.compare import compare_measure, compare_rate  # noqa: E402
from analysis.outcomes import participant_outcomes, rate_counts  # noqa: E402
from analysis.schema import ADSMS, GROUP_CONTROL, GROUP_PA  # noqa: E402

OUT = Path(__file__).resolve().parent
EPISODES_FILE = OUT / "synthetic_pilot_episodes.csv"
SESSIONS_FILE = OUT / "synthetic_pilot_sessions.csv"
FIRST_SEED = 2024

AGE_BANDS = ["18-25", "26-35", "36-45", "46-55", "56-65", "66+"]
GENDERS = ["Female", "Male", "Non-binary"]
ETHNICITIES = ["White British", "White other", "Asian or Asian British", "Black or Black British", "Mixed",
               "Other"]
# problem descriptor -> ADSM code (None: PHQ-9/GAD-7 only)
PROBLEMS = {
    "Depression": None,
    "Generalised anxiety disorder": None,
    "Mixed anxiety and depression": None,
    "Social anxiety disorder": "SPIN",
    "Panic disorder": "PDSS",
    "PTSD": "PCL5",
    "Health anxiety": "HAI",
}


def _clip(value: float, lo: float, hi: float) -> int:
    return int(np.clip(round(value), lo, hi))


def _draw_participant(rng: np.random.Generator, group: str, at_caseness: bool, recovered: bool,
                      problem: str, candidates: int = 256, deteriorated: bool = False) -> dict:
    """Draw candidate score sets in a batch; keep the first whose flags match the target."""
    adsm = PROBLEMS[problem]
    scale = 1.0 if group == GROUP_PA else 0.55
    size = candidates

    def clip(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
        return np.clip(np.round(values), lo, hi)

    if at_caseness and recovered and rng.random() < 0.35:  # a mild case that recovers without reliable change
        phq_first, gad_first = clip(rng.normal(11, 1.5, size), 5, 27), clip(rng.normal(9, 1.5, size), 4, 21)
    elif at_caseness:
        phq_first, gad_first = clip(rng.normal(16, 4, size), 5, 27), clip(rng.normal(14, 3.5, size), 4, 21)
    else:
        phq_first, gad_first = clip(rng.normal(7, 1.5, size), 2, 9), clip(rng.normal(5.5, 1.3, size), 1, 7)
    if recovered:
        phq_last, gad_last = clip(rng.normal(5.5, 2, size), 0, 9), clip(rng.normal(4.5, 1.8, size), 0, 7)
    elif deteriorated:
        phq_last = clip(phq_first + rng.normal(6, 2, size), 0, 27)
        gad_last = clip(gad_first + rng.normal(3, 2, size), 0, 21)
    else:
        phq_last = clip(phq_first - scale * rng.normal(3.0, 3.0, size), 0, 27)
        gad_last = clip(gad_first - scale * rng.normal(2.5, 2.5, size), 0, 21)
    adsm_first = adsm_last = np.full(size, np.nan)
    if adsm is not None:
        m = ADSMS[adsm]
        span = m.maximum - m.minimum
        below = m.caseness - rng.uniform(0.05, 0.2, size) * span
        if at_caseness:
            adsm_first = clip(rng.normal(m.caseness + 0.25 * span, 0.08 * span, size), m.caseness, m.maximum)
        else:
            adsm_first = clip(below, m.minimum, m.caseness - 1)
        if recovered:
            adsm_last = clip(m.caseness - rng.uniform(0.05, 0.2, size) * span, m.minimum, m.caseness - 1)
        else:
            adsm_last = clip(adsm_first - scale * rng.normal(0.1, 0.1, size) * span, m.minimum, m.maximum)
    frame = pd.DataFrame({"participant_id": "x", "group": group, "phq9_first": phq_first, "phq9_last": phq_last,
                          "gad7_first": gad_first, "gad7_last": gad_last, "adsm_measure": adsm,
                          "adsm_first": adsm_first, "adsm_last": adsm_last})
    flags = participant_outcomes(frame)
    match = np.flatnonzero((flags["at_caseness"] == at_caseness).to_numpy()
                           & (flags["recovered"] == recovered).to_numpy()
                           & (flags["reliable_deterioration"] == deteriorated).to_numpy())
    if not len(match):
        raise RuntimeError("could not draw a participant matching the target")
    row = frame.iloc[match[0]]
    return {"phq9_first": int(row["phq9_first"]), "phq9_last": int(row["phq9_last"]),
            "gad7_first": int(row["gad7_first"]), "gad7_last": int(row["gad7_last"]), "adsm_measure": adsm,
            "adsm_first": float(row["adsm_first"]), "adsm_last": float(row["adsm_last"])}


def make_episodes(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    # (group, at caseness, recovered, reliably deteriorated)
    targets = ([(GROUP_PA, True, True, False)] * 12 + [(GROUP_PA, True, False, False)] * 7
               + [(GROUP_CONTROL, True, True, False)] * 5 + [(GROUP_CONTROL, True, False, False)] * 8
               + [(GROUP_CONTROL, True, False, True)] + [(GROUP_CONTROL, False, False, False)] * 5)
    order = rng.permutation(len(targets))
    problems = list(PROBLEMS)
    weights = np.array([0.3, 0.2, 0.2, 0.08, 0.08, 0.07, 0.07])
    for number, index in enumerate(order, start=1):
        group, at_caseness, recovered, deteriorated = targets[index]
        problem = problems[rng.choice(len(problems), p=weights / weights.sum())]
        scores = _draw_participant(rng, group, at_caseness, recovered, problem, deteriorated=deteriorated)
        sessions = int(rng.integers(4, 13))
        wsas_first = _clip(rng.normal(20, 7), 0, 40)
        wsas_drop = rng.normal(6 if group == GROUP_PA else 3, 5)
        rows.append({
            "participant_id": f"SYN-{number:03d}",
            "group": group,
            **{k: scores[k] for k in ("phq9_first", "phq9_last", "gad7_first", "gad7_last")},
            "treatment_sessions": sessions,
            "adsm_measure": scores["adsm_measure"] or "",
            "adsm_first": scores["adsm_first"],
            "adsm_last": scores["adsm_last"],
            "wsas_first": wsas_first,
            "wsas_last": _clip(wsas_first - wsas_drop, 0, 40),
            "pa_sessions": int(rng.integers(3, 11)) if group == GROUP_PA else 0,
            "age_band": AGE_BANDS[rng.choice(6, p=[0.15, 0.22, 0.2, 0.18, 0.15, 0.1])],
            "gender": GENDERS[rng.choice(3, p=[0.62, 0.35, 0.03])],
            "ethnicity": ETHNICITIES[rng.choice(6, p=[0.55, 0.1, 0.15, 0.1, 0.06, 0.04])],
            "ltc": "Yes" if rng.random() < 0.4 else "No",
            "problem_descriptor": problem,
        })
    frame = pd.DataFrame(rows)
    # One participant's ADSM has no end score: their anxiety measure falls back to GAD-7.
    with_adsm = frame.index[frame["adsm_measure"] != ""]
    if len(with_adsm):
        frame.loc[with_adsm[0], "adsm_last"] = np.nan
    return frame


def calibrated(frame: pd.DataFrame) -> tuple[bool, str]:
    typed = frame.assign(adsm_measure=frame["adsm_measure"].replace("", None))
    flags = participant_outcomes(typed)
    counts = rate_counts(flags, "recovery")
    checks = [counts[GROUP_PA] == (12, 19), counts[GROUP_CONTROL] == (5, 14)]
    report = [f"recovery {counts}"]
    for rate in ("reliable_improvement", "reliable_recovery"):  # secondary rates not significant either
        comparison = compare_rate(flags, rate)
        checks.append(comparison.fisher.p > 0.05)
        report.append(f"{rate} {rate_counts(flags, rate)} p={comparison.fisher.p:.3f}")
    if not all(checks):
        return False, "rates"
    is_pa = (typed["group"] == GROUP_PA).to_numpy()
    for measure in ("phq9", "gad7"):  # cheap check first: the ratio of mean changes
        change = (typed[f"{measure}_last"] - typed[f"{measure}_first"]).to_numpy(dtype=float)
        if not 1.8 <= change[is_pa].mean() / change[~is_pa].mean() <= 2.2:
            return False, "ratio"
    for measure in ("phq9", "gad7"):
        comparison = compare_measure(typed, measure, flags, n_resamples=99)
        pa = comparison.descriptives[GROUP_PA].mean_change
        control = comparison.descriptives[GROUP_CONTROL].mean_change
        checks += [comparison.ancova.p > 0.05, comparison.welch.p > 0.05, comparison.mann_whitney.p > 0.05]
        report.append(f"{measure}: change {pa:.2f} vs {control:.2f} (ratio {pa / control:.2f}), "
                      f"ANCOVA p={comparison.ancova.p:.3f}, Welch p={comparison.welch.p:.3f}")
    return all(checks), "; ".join(report)


def make_sessions(episodes: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The same participants session by session; reducing them gives the episode file back.

    Each participant has ``treatment_sessions`` rows. PHQ-9/GAD-7 move from the first to the
    last score with noise; ADSM and WSAS are recorded at the first and last scored session.
    For every fifth participant the final attended session has no questionnaire, so the last
    *available* score comes from the session before.
    """
    rng = np.random.default_rng(seed + 1)
    rows = []
    start = pd.Timestamp("2023-01-09")
    extras = ["age_band", "gender", "ethnicity", "ltc", "problem_descriptor", "pa_sessions"]
    for i, episode in episodes.reset_index(drop=True).iterrows():
        k = int(episode["treatment_sessions"])
        unscored_final = (i % 5 == 4) and k >= 3
        scored = k - 1 if unscored_final else k
        first_date = start + pd.Timedelta(days=int(rng.integers(0, 180)))
        for s in range(1, k + 1):
            row = {"participant_id": episode["participant_id"], "group": episode["group"], "session_number": s,
                   "session_date": (first_date + pd.Timedelta(weeks=s - 1)).date().isoformat()}
            if s <= scored:
                t = (s - 1) / (scored - 1) if scored > 1 else 1.0
                for m, hi in (("phq9", 27), ("gad7", 21)):
                    a, b = episode[f"{m}_first"], episode[f"{m}_last"]
                    value = a + (b - a) * t + (0 if s in (1, scored) else rng.normal(0, 1.5))
                    row[m] = _clip(value, 0, hi)
                row["adsm_measure"] = episode["adsm_measure"]
                row["adsm"] = (episode["adsm_first"] if s == 1 else episode["adsm_last"] if s == scored else np.nan)
                row["wsas"] = (episode["wsas_first"] if s == 1 else episode["wsas_last"] if s == scored else np.nan)
            else:
                row.update({"phq9": np.nan, "gad7": np.nan, "adsm_measure": episode["adsm_measure"],
                            "adsm": np.nan, "wsas": np.nan})
            row.update({c: episode[c] for c in extras})
            rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    for seed in range(FIRST_SEED, FIRST_SEED + 5000):
        episodes = make_episodes(seed)
        ok, report = calibrated(episodes)
        if ok:
            break
    else:
        raise SystemExit("no calibrated sample found")
    print(f"seed {seed}: {report}")
    int_columns = ["phq9_first", "phq9_last", "gad7_first", "gad7_last", "wsas_first", "wsas_last"]
    episodes[int_columns] = episodes[int_columns].astype("Int64")
    sessions = make_sessions(episodes, seed)
    for column in ("phq9", "gad7", "wsas"):
        sessions[column] = sessions[column].astype("Float64").round().astype("Int64")
    sessions["adsm"] = sessions["adsm"].astype("Float64")
    episodes.to_csv(EPISODES_FILE, index=False, float_format="%g")
    sessions.to_csv(SESSIONS_FILE, index=False, float_format="%g")
    print(f"wrote {EPISODES_FILE.name} ({len(episodes)} rows) and {SESSIONS_FILE.name} ({len(sessions)} rows)")


if __name__ == "__main__":
    main()
