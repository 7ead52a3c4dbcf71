"""Figures and tables for "Accounting for who took part": balance before/after weighting, propensity
overlap, and unadjusted vs adjusted effects side by side.

Numbers come from :func:`analysis.adjusted.adjust` (propensity score, weights, balance, doubly robust
effects) and the unadjusted comparisons of :class:`analysis.summary.Analysis`. Each figure has a
``*_takeaway`` giving its message as one sentence from the same numbers. Presentation-safe mode
(:mod:`analysis.disclosure`): an effect whose outcome has fewer than 5 people in a group is hidden, a
balance row resting on fewer than 5 people in a group is hidden, and overlap-histogram bins are counts,
so bins below 5 are hidden and the rest rounded to 5.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis import formatting as fmt
from analysis.adjusted import EXTREME_PROPENSITY, Adjustment, e_value_difference, e_value_rr, e_value_sentence
from analysis.compare import SMD_IMBALANCE, measure_for
from analysis.disclosure import SUPPRESS_BELOW, safe_count
from analysis.figures.subgroups import line_shape
from analysis.figures.theme import GROUP_COLOURS, OKABE_ITO, REFERENCE_COLOUR, apply_theme
from analysis.outcomes import RATE_DEFINITIONS
from analysis.schema import GROUP_CONTROL, GROUP_LABELS, GROUP_PA, GROUPS

UNADJUSTED: Final = "Unadjusted"
ADJUSTED: Final = "Adjusted"
ROW_COLUMNS: Final = ("outcome", "label", "kind", "analysis", "estimate", "ci_low", "ci_high", "e_value",
                      "e_value_ci", "n_pa", "n_control", "hidden", "note")
_ANALYSIS_COLOURS: Final = {UNADJUSTED: OKABE_ITO["grey"], ADJUSTED: OKABE_ITO["bluish_green"]}
_ANALYSIS_SYMBOLS: Final = {UNADJUSTED: "circle-open", ADJUSTED: "diamond"}
OVERLAP_BINS: Final = 20


def _small(n: int | None) -> bool:
    return n is None or n < SUPPRESS_BELOW


def _pooled_last_sd(comparison: Any) -> float | None:
    parts = [comparison.descriptives[g] for g in GROUPS]
    if any(d.n < 2 or d.sd_last is None for d in parts):
        return None
    return math.sqrt(sum((d.n - 1) * d.sd_last ** 2 for d in parts) / (sum(d.n for d in parts) - 2))


def comparison_rows(analysis: Any, adjustment: Adjustment, safe: bool = False) -> pd.DataFrame:
    """Unadjusted and adjusted effect of each outcome, with E-values (one row per outcome and analysis).

    Rates: the difference in percentage points (unadjusted: Newcombe CI) and the E-value of the
    relative risk; measures: the difference in last score (unadjusted: ANCOVA on the first score) and the
    E-value from the SMD. Columns :data:`ROW_COLUMNS`; ``hidden`` rows carry no numbers."""
    rows = []
    for key, comparison in analysis.rates.items():
        counts = {g: comparison.groups[g].denominator for g in GROUPS}
        rr = comparison.relative_risk
        e_point, e_ci = e_value_rr(rr.estimate, *(rr.ci95 or (None, None)))
        rows.append(_row(key, RATE_DEFINITIONS[key].label, "rate", UNADJUSTED, comparison.difference.estimate,
                         comparison.difference.ci95, e_point, e_ci, counts, safe, comparison.difference.reason))
        effect = adjustment.effects.get(key)
        if effect is not None:
            a_rr = effect.relative_risk
            e_point, e_ci = (e_value_rr(a_rr.estimate, *(a_rr.ci95 or (None, None))) if a_rr is not None
                             else (None, None))
            rows.append(_row(key, RATE_DEFINITIONS[key].label, "rate", ADJUSTED, effect.difference.estimate,
                             effect.difference.ci95, e_point, e_ci, effect.n, safe, effect.difference.reason))
    for key, effect in adjustment.effects.items():
        if effect.kind != "measure" or key not in analysis.measures:
            continue
        comparison = analysis.measures[key]
        sd = _pooled_last_sd(comparison)
        label = f"{measure_for(key).label} last score"
        a = comparison.ancova
        counts = {g: comparison.descriptives[g].n for g in GROUPS}
        rows.append(_row(key, label, "measure", UNADJUSTED, a.estimate, a.ci95,
                         *e_value_difference(a.estimate, a.ci95, sd), counts, safe, a.reason))
        d = effect.difference
        rows.append(_row(key, label, "measure", ADJUSTED, d.estimate, d.ci95,
                         *e_value_difference(d.estimate, d.ci95, sd), effect.n, safe, d.reason))
    return pd.DataFrame(rows, columns=list(ROW_COLUMNS))


def _row(outcome: str, label: str, kind: str, analysis: str, estimate: float | None,
         ci: tuple[float, float] | None, e_point: float | None, e_ci: float | None, counts: dict[str, int],
         safe: bool, note: str | None) -> dict[str, Any]:
    hidden = safe and any(_small(counts.get(g)) for g in GROUPS)
    return {"outcome": outcome, "label": label, "kind": kind, "analysis": analysis,
            "estimate": None if hidden else estimate,
            "ci_low": None if hidden or ci is None else ci[0], "ci_high": None if hidden or ci is None else ci[1],
            "e_value": None if hidden else e_point, "e_value_ci": None if hidden else e_ci,
            "n_pa": safe_count(counts.get(GROUP_PA)) if safe else counts.get(GROUP_PA),
            "n_control": safe_count(counts.get(GROUP_CONTROL)) if safe else counts.get(GROUP_CONTROL),
            "hidden": hidden, "note": "hidden (small numbers)" if hidden else (note or "")}


def _has(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def effects_chart(rows: pd.DataFrame, kind: str, title: str | None = None) -> go.Figure:
    """Unadjusted (open circle) and adjusted (diamond) differences, PA − control, with 95% CIs, one line
    per outcome; a rate in percentage points, a measure in score points."""
    part = rows[rows["kind"] == kind]
    scale = 100.0 if kind == "rate" else 1.0
    order = list(dict.fromkeys(part["label"]))
    figure = go.Figure()
    for name in (UNADJUSTED, ADJUSTED):
        shown = part[(part["analysis"] == name) & part["estimate"].map(_has)]
        if shown.empty:
            continue
        est = shown["estimate"].astype(float) * scale
        low = shown["ci_low"].map(lambda v: float(v) * scale if _has(v) else np.nan)
        high = shown["ci_high"].map(lambda v: float(v) * scale if _has(v) else np.nan)
        figure.add_trace(go.Scatter(
            x=est, y=shown["label"], mode="markers", name=name,
            marker=dict(color=_ANALYSIS_COLOURS[name], symbol=_ANALYSIS_SYMBOLS[name], size=15,
                        line=dict(color="#1a1a1a" if name == ADJUSTED else _ANALYSIS_COLOURS[name], width=2)),
            error_x=dict(type="data", symmetric=False, array=(high - est).fillna(0), arrayminus=(est - low).fillna(0),
                         color=_ANALYSIS_COLOURS[name], thickness=2.5, width=6),
            offsetgroup=name, hovertemplate="%{y}: %{x:.1f}<extra>" + name + "</extra>"))
    unit = "percentage points" if kind == "rate" else "score points"
    direction = "right = physical activity higher" if kind == "rate" else "left = physical activity lower (better)"
    figure.update_layout(
        scattermode="group", shapes=[line_shape("x", 0, REFERENCE_COLOUR)],
        xaxis=dict(title=f"PA − control ({unit}; {direction})", zeroline=False),
        yaxis=dict(categoryorder="array", categoryarray=list(reversed(order)), type="category", automargin=True,
                   title=None), margin=dict(t=110))
    default = ("Rates: unadjusted and adjusted difference (95% CI)" if kind == "rate"
               else "Last score: unadjusted and adjusted difference (95% CI)")
    return apply_theme(figure, title or default, height=max(340, 150 + 80 * len(order)))


def effects_takeaway(rows: pd.DataFrame, kind: str) -> str:
    """One sentence per chart: how much each difference moved when adjusted."""
    part = rows[rows["kind"] == kind]
    scale, unit = (100.0, "points") if kind == "rate" else (1.0, "points")
    parts = []
    for label in dict.fromkeys(part["label"]):
        pair = part[part["label"] == label].set_index("analysis")
        if not {UNADJUSTED, ADJUSTED} <= set(pair.index):
            continue
        before, after = pair.loc[UNADJUSTED, "estimate"], pair.loc[ADJUSTED, "estimate"]
        if not (_has(before) and _has(after)):
            parts.append(f"{label}: not available")
            continue
        parts.append(f"{label} {fmt.number(float(before) * scale, 1)} → {fmt.number(float(after) * scale, 1)} {unit}")
    if not parts:
        return "No outcome has both an unadjusted and an adjusted difference to show."
    crossing = [label for label in dict.fromkeys(part["label"]) if _includes_zero(part, label)]
    text = "Unadjusted → adjusted difference (PA − control): " + "; ".join(parts)
    if crossing:
        text += (". The adjusted 95% CI includes no difference for " +
                 ("every outcome shown" if len(crossing) == len(parts) else f"{len(crossing)} of these outcomes"))
    return text + "."


def _includes_zero(part: pd.DataFrame, label: str) -> bool:
    row = part[(part["label"] == label) & (part["analysis"] == ADJUSTED)]
    if row.empty or not (_has(row.iloc[0]["ci_low"]) and _has(row.iloc[0]["ci_high"])):
        return False
    return float(row.iloc[0]["ci_low"]) <= 0 <= float(row.iloc[0]["ci_high"])


def effects_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows as a readable table: difference with CI, E-value with its CI."""
    out = []
    for row in rows.to_dict("records"):
        scale_kind = "points" if row["kind"] == "rate" else "number"
        has = _has(row["estimate"])
        estimate = (f"{fmt.points(row['estimate'], 1)} points" if row["kind"] == "rate" else fmt.number(row["estimate"], 2)
                    ) if has else (row["note"] or fmt.MISSING)
        ci = (fmt.ci((row["ci_low"], row["ci_high"]), scale_kind, 2).removeprefix("95% CI ")
              if _has(row["ci_low"]) and _has(row["ci_high"]) else fmt.MISSING)
        out.append({"Outcome": row["label"], "Analysis": row["analysis"], "Difference (PA − control)": estimate,
                    "95% CI": ci, "E-value": fmt.number(row["e_value"], 2) if _has(row["e_value"]) else fmt.MISSING,
                    "E-value for the CI": fmt.number(row["e_value_ci"], 2) if _has(row["e_value_ci"]) else fmt.MISSING,
                    "n (PA / control)": f"{fmt.count(row['n_pa'])} / {fmt.count(row['n_control'])}"})
    return pd.DataFrame(out)


def e_value_text(rows: pd.DataFrame, outcome: str) -> str:
    """The adjusted E-value of one outcome as a sentence (falls back to the unadjusted one)."""
    part = rows[rows["outcome"] == outcome].set_index("analysis")
    for name in (ADJUSTED, UNADJUSTED):
        if name in part.index and _has(part.loc[name, "e_value"]):
            label = part.loc[name, "label"]
            phrase = label.lower() if part.loc[name, "kind"] == "rate" else f"the {label}"
            ci = part.loc[name, "e_value_ci"]
            text = e_value_sentence(float(part.loc[name, "e_value"]), float(ci) if _has(ci) else None, phrase)
            return text if name == ADJUSTED else text + " (unadjusted: no adjusted estimate is available)"
    return f"The E-value for {outcome.replace('_', ' ')} cannot be shown (no estimate, or hidden small numbers)."


# --- balance before and after ----------------------------------------------------------------------


def balance_rows(adjustment: Adjustment, safe: bool = False) -> pd.DataFrame:
    """The balance table with safe mode applied: a row with fewer than 5 people in a group (a category
    level) keeps its label but not its SMDs."""
    table = adjustment.balance.copy()
    table["hidden"] = False
    if safe and not table.empty:
        hidden = table["n_pa"].map(_small) | table["n_control"].map(_small)
        table.loc[hidden, ["smd_before", "smd_after"]] = np.nan
        table["hidden"] = hidden.astype(bool)
    return table


def love_plot(rows: pd.DataFrame) -> go.Figure:
    """Love plot: each characteristic's SMD before (open circle) and after weighting (filled), ±0.1 dashed."""
    order = list(reversed(rows["label"].tolist()))
    figure = go.Figure()
    for column, name, symbol, colour in (("smd_before", "Before weighting", "circle-open", OKABE_ITO["vermillion"]),
                                         ("smd_after", "After weighting", "circle", OKABE_ITO["bluish_green"])):
        shown = rows[rows[column].notna()]
        figure.add_trace(go.Scatter(
            x=shown[column].astype(float), y=shown["label"], mode="markers", name=name,
            marker=dict(color=colour, symbol=symbol, size=13, line=dict(color=colour if symbol.endswith("open")
                                                                        else "#1a1a1a", width=2)),
            hovertemplate="%{y}: SMD %{x:.2f}<extra>" + name + "</extra>"))
    values = [abs(float(v)) for c in ("smd_before", "smd_after") for v in rows[c] if _has(v)]
    extent = max([0.5, *values]) * 1.1
    shapes = [line_shape("x", x, REFERENCE_COLOUR, 1.5, "dash") for x in (-SMD_IMBALANCE, SMD_IMBALANCE)]
    shapes.append(line_shape("x", 0, REFERENCE_COLOUR))
    figure.update_layout(
        shapes=shapes, xaxis=dict(title="SMD, PA − control (right = more in physical activity)",
                                  range=[-extent, extent], zeroline=False),
        yaxis=dict(categoryorder="array", categoryarray=order, type="category", automargin=True, title=None,
                   tickfont=dict(size=16)), margin=dict(t=110))
    return apply_theme(figure, "Balance before and after weighting", height=max(380, 140 + 28 * len(rows)))


def love_takeaway(rows: pd.DataFrame, adjustment: Adjustment) -> str:
    shown = rows[rows["smd_before"].notna() & rows["smd_after"].notna()]
    if shown.empty:
        return "Balance cannot be shown: no characteristic has an SMD (too few people, or hidden in safe mode)."
    before = int((shown["smd_before"].abs() > SMD_IMBALANCE).sum())
    after = int((shown["smd_after"].abs() > SMD_IMBALANCE).sum())
    worst = shown.loc[shown["smd_after"].abs().idxmax()]
    text = (f"Before weighting {before} of {len(shown)} characteristics differed by more than |SMD| "
            f"{SMD_IMBALANCE:g}; after weighting {after} do (largest: {worst['label']}, "
            f"{fmt.number(float(worst['smd_after']), 2)})")
    ess = adjustment.ess
    if all(v is not None for v in ess.values()):
        text += (f". Effective sample size (an estimate, not a count): weighted control group "
                 f"{fmt.number(ess[GROUP_CONTROL], 1)}, physical activity group {fmt.number(ess[GROUP_PA], 1)}")
    hidden = int(rows["hidden"].astype(bool).sum()) if "hidden" in rows else 0
    if hidden:
        text += f". {hidden} {'is' if hidden == 1 else 'are'} hidden in presentation-safe mode"
    return text + "."


def balance_table(rows: pd.DataFrame) -> pd.DataFrame:
    out = []
    def smd(value: Any, hidden: bool) -> str:
        return fmt.number(float(value), 2) if _has(value) else ("hidden" if hidden else fmt.MISSING)

    for row in rows.to_dict("records"):
        out.append({"Characteristic": row["label"], "SMD before": smd(row["smd_before"], row["hidden"]),
                    "SMD after": smd(row["smd_after"], row["hidden"]),
                    f"Balanced after (|SMD| ≤ {SMD_IMBALANCE:g})": ("yes" if _has(row["smd_after"]) and
                                                                  abs(float(row["smd_after"])) <= SMD_IMBALANCE
                                                                  else ("—" if not _has(row["smd_after"]) else "no"))})
    return pd.DataFrame(out)


# --- overlap ------------------------------------------------------------------------------------------


def overlap_counts(adjustment: Adjustment, safe: bool = False, bins: int = OVERLAP_BINS) -> pd.DataFrame:
    """People per propensity-score bin and group (``count`` None where hidden in safe mode)."""
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for group in GROUPS:
        scores = adjustment.propensity.loc[adjustment.propensity["group"] == group, "propensity"].to_numpy(float)
        counts, _ = np.histogram(scores, bins=edges)
        for lo, hi, count in zip(edges[:-1], edges[1:], counts, strict=True):
            shown = (safe_count(int(count)) if count else 0) if safe else int(count)
            rows.append({"group": group, "low": lo, "high": hi, "count": shown})
    return pd.DataFrame(rows, columns=["group", "low", "high", "count"])


def overlap_chart(counts: pd.DataFrame) -> go.Figure:
    """Mirrored histogram of propensity scores: physical activity above the axis, control below."""
    figure = go.Figure()
    for group, sign in ((GROUP_PA, 1), (GROUP_CONTROL, -1)):
        part = counts[(counts["group"] == group) & counts["count"].notna()]
        figure.add_trace(go.Bar(
            x=(part["low"] + part["high"]) / 2, y=part["count"].astype(float) * sign, width=part["high"] - part["low"],
            name=GROUP_LABELS[group], marker_color=GROUP_COLOURS[group], marker_line=dict(color="#1a1a1a", width=0.5),
            customdata=part["count"], hovertemplate="score %{x:.2f}: %{customdata} people<extra>"
                                                    + GROUP_LABELS[group] + "</extra>"))
    shapes = [line_shape("x", x, REFERENCE_COLOUR, 1.5, "dash") for x in (EXTREME_PROPENSITY, 1 - EXTREME_PROPENSITY)]
    figure.update_layout(barmode="overlay", shapes=shapes, bargap=0,
                         xaxis=dict(title="Propensity score (modelled chance of choosing physical activity)",
                                    range=[0, 1]),
                         yaxis=dict(title="People (control shown below the line)", tickformat="d"))
    return apply_theme(figure, "Overlap of propensity scores by group", height=420)


def overlap_takeaway(adjustment: Adjustment, safe: bool = False) -> str:
    outside = adjustment.overlap_counts()
    total = sum(outside.values())
    if total == 0:
        return (f"Every participant has a propensity score between {EXTREME_PROPENSITY:g} and "
                f"{1 - EXTREME_PROPENSITY:g}: the groups overlap, so each person has comparable people in the other "
                "group.")
    if safe:
        shown = safe_count(total)
        amount = "fewer than 5 people have" if shown is None else f"about {shown} people have"
    else:
        amount = f"{total} {'person has' if total == 1 else 'people have'}"
    return (f"{amount} a propensity score below {EXTREME_PROPENSITY:g} or above {1 - EXTREME_PROPENSITY:g} "
            "(dashed lines): they have few comparable people in the other group, so their comparison leans on the "
            "model. Trimming them is possible below, but it changes who the answer is about.")


__all__ = ["ADJUSTED", "UNADJUSTED", "balance_rows", "balance_table", "comparison_rows", "e_value_text",
           "effects_chart", "effects_table", "effects_takeaway", "love_plot", "love_takeaway", "overlap_chart",
           "overlap_counts", "overlap_takeaway"]
