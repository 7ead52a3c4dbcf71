"""Make the bundled SYNTHETIC programme sample: six sites in one evaluation. Seeded.

    python data/sample/make_programme.py

Every participant and every site is invented (the site names are made up). Six sites of
different sizes each run physical activity beside usual care; in five of them physical activity
adds a similar benefit, and one site (:data:`OUTLIER`) is calibrated to be an outlier, with
physical activity doing no better than control there. Scores come from a simple model: a first
score, then a last score that falls by the site's usual-care improvement plus, for physical
activity, the site's added benefit, with noise; a few people do not finish treatment. Whole samples
are drawn from successive seeds until :func:`calibrated` holds (the outcome flags and comparisons
computed by analysis/, the same code the dashboard runs). The seed used is printed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from analysis.schema import GROUP_CONTROL, GROUP_PA  # noqa: E402
from analysis.sites import site_analysis  # noqa: E402

OUT = Path(__file__).resolve().parent
PROGRAMME_FILE = OUT / "synthetic_programme_episodes.csv"
FIRST_SEED = 2026
CALIBRATED_SEED = 2103  # the first seed from FIRST_SEED that passes calibrated(): what main() prints and writes

# site -> (participants, share in physical activity, PHQ-9 fall with usual care, added fall with PA)
SITES = {
    "Northfield": (220, 0.50, 7.0, 2.5),
    "Riverside": (160, 0.45, 6.5, 3.0),
    "Hillcrest": (120, 0.50, 7.5, 2.0),
    "Eastgate": (110, 0.50, 7.0, -3.0),
    "Westmoor": (80, 0.55, 6.0, 2.5),
    "Brookside": (50, 0.50, 7.0, 3.5),
}
OUTLIER = "Eastgate"

AGE_BANDS = ["18-25", "26-35", "36-45", "46-55", "56-65", "66+"]
GENDERS = ["Female", "Male", "Non-binary"]
ETHNICITIES = ["White British", "White other", "Asian or Asian British", "Black or Black British", "Mixed",
               "Other"]
PROBLEMS = ["Depression", "Generalised anxiety disorder", "Mixed anxiety and depression"]


def make_programme(seed: int) -> pd.DataFrame:
    """One row per invented participant, with a ``site`` column."""
    rng = np.random.default_rng(seed)
    rows = []
    number = 0
    for site, (size, pa_share, usual, added) in SITES.items():
        for _ in range(size):
            number += 1
            pa = rng.random() < pa_share
            phq_first = int(np.clip(round(rng.normal(15, 4.0)), 4, 27))
            gad_first = int(np.clip(round(rng.normal(12.5, 3.5)), 3, 21))
            fall = usual + (added if pa else 0.0)
            response = rng.normal(0, 4.5)  # how well this person responds, shared by both measures
            phq_last = int(np.clip(round(phq_first - fall - response - rng.normal(0, 2.5)), 0, 27))
            gad_last = int(np.clip(round(gad_first - 0.8 * fall - 0.75 * response - rng.normal(0, 2.0)), 0, 21))
            finished = rng.random() > 0.08
            sessions = int(rng.integers(2, 15)) if finished else int(rng.integers(0, 2))
            no_end = not finished and rng.random() < 0.5
            wsas_first = int(np.clip(round(rng.normal(20, 7)), 0, 40))
            wsas_last = int(np.clip(round(wsas_first - fall * 1.2 - rng.normal(0, 6)), 0, 40))
            rows.append({
                "participant_id": f"PRG-{number:04d}",
                "group": GROUP_PA if pa else GROUP_CONTROL,
                "site": site,
                "phq9_first": phq_first, "phq9_last": None if no_end else phq_last,
                "gad7_first": gad_first, "gad7_last": None if no_end else gad_last,
                "treatment_sessions": sessions,
                "wsas_first": wsas_first, "wsas_last": None if no_end else wsas_last,
                "pa_sessions": int(rng.integers(2, 12)) if pa else 0,
                "age_band": AGE_BANDS[rng.choice(6, p=[0.15, 0.22, 0.2, 0.18, 0.15, 0.1])],
                "gender": GENDERS[rng.choice(3, p=[0.62, 0.35, 0.03])],
                "ethnicity": ETHNICITIES[rng.choice(6, p=[0.55, 0.1, 0.15, 0.1, 0.06, 0.04])],
                "ltc": "Yes" if rng.random() < 0.4 else "No",
                "problem_descriptor": PROBLEMS[rng.choice(3, p=[0.4, 0.3, 0.3])],
            })
    frame = pd.DataFrame(rows)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)  # sites interleaved, as an export


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with number columns as floats (as validation would type them)."""
    numbers = ["phq9_first", "phq9_last", "gad7_first", "gad7_last", "treatment_sessions", "wsas_first",
               "wsas_last", "pa_sessions"]
    return frame.assign(**{c: pd.to_numeric(frame[c]).astype(float) for c in numbers})


def calibrated(frame: pd.DataFrame) -> tuple[bool, str]:
    """Recovery and PHQ-9 pooled across sites favour physical activity with intervals above/below zero,
    the sites differ by more than chance (Q p < 0.05 for recovery and PHQ-9), the outlier's interval lies wholly on
    the other side of the pooled estimate and misses it, and every other site's interval contains it."""
    analysis = site_analysis(typed(frame), measures=("phq9",))
    recovery, phq9 = analysis.rates["recovery"], analysis.measures["phq9"]
    checks = []
    for outcome, favour in ((recovery, 1), (phq9, -1)):
        p = outcome.pooled
        checks.append(p.estimate is not None and favour * p.estimate > 0)
        for effect in outcome.per_site:
            lo, hi = effect.estimate.ci95
            contains = lo <= p.estimate <= hi
            checks.append(not contains if effect.site == OUTLIER else contains)
    checks += [phq9.pooled.q_p < 0.05, recovery.pooled.q_p < 0.05]
    checks.append(phq9.pooled.ci95[1] < 0)
    report = (f"recovery pooled {recovery.pooled.estimate:.3f} {recovery.pooled.ci95}, I2 {recovery.pooled.i2:.2f}; "
              f"PHQ-9 pooled {phq9.pooled.estimate:.2f} {phq9.pooled.ci95}, tau2 {phq9.pooled.tau2:.2f}, "
              f"Q p {phq9.pooled.q_p:.4f}")
    return all(checks), report


def csv_text(frame: pd.DataFrame) -> str:
    """The file's text: whole-number scores, blank where there is no end score."""
    frame = frame.copy()
    for column in ("phq9_last", "gad7_last", "wsas_last"):
        frame[column] = frame[column].astype("Int64")
    return frame.to_csv(index=False, lineterminator="\n")


def main() -> None:
    for seed in range(FIRST_SEED, FIRST_SEED + 2000):
        frame = make_programme(seed)
        ok, report = calibrated(frame)
        if ok:
            break
    else:
        raise SystemExit("no calibrated programme sample found")
    print(f"seed {seed}: {report}")
    PROGRAMME_FILE.write_text(csv_text(frame), encoding="utf-8")
    print(f"wrote {PROGRAMME_FILE.name} ({len(frame)} rows, {frame['site'].nunique()} sites)")


if __name__ == "__main__":
    main()
