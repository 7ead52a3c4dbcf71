"""Figures and tables for "Who benefits": subgroup forest plot and baseline balance (Love plot).

Numbers come from :func:`analysis.compare.subgroup_analysis` (difference PA − control within
each level of a category: Newcombe CI for rates, Welch CI for change; interaction by a
likelihood-ratio or F test) and :func:`analysis.compare.baseline_balance` (standardised mean
differences, Austin 2009). The helpers here add what a display needs — labels, the
presentation-safe rules of :mod:`analysis.disclosure`, the small-subgroup flag — and each
figure has a ``*_takeaway`` giving its message as one sentence from the same numbers.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis import formatting as fmt
from analysis.compare import (
    SMD_IMBALANCE,
    MeasureComparison,
    RateComparison,
    SubgroupResult,
    baseline_balance,
    measure_for,
)
from analysis.disclosure import SUPPRESS_BELOW, count_shown
from analysis.figures.theme import OKABE_ITO, REFERENCE_COLOUR, apply_theme
from analysis.outcomes import RATE_DEFINITIONS
from analysis.results import Estimate
from analysis.schema import ALPHA, GROUP_CONTROL, GROUP_PA, GROUPS
from analysis.schema import column_label as schema_column_label

SMALL_SUBGROUP: Final = 10  # fewer than this per group: flagged, "do not act on it" (SUBGROUP_CAUTION)
OVERALL_LABEL: Final = "Overall"
CHANGE_OUTCOME: Final = "change"  # the page's option for "the sidebar measure's change"
FOREST_COLUMNS: Final = ("label", "level", "is_overall", "n_pa", "n_control", "estimate", "ci_low", "ci_high",
                         "small", "hidden", "note")
BALANCE_COLUMNS: Final = ("variable", "level", "label", "kind", "n_pa", "n_control", GROUP_PA, GROUP_CONTROL,
                          "smd", "imbalanced", "hidden")
_LEVEL_COLOUR: Final = "#1a1a1a"
_SMALL_COLOUR: Final = OKABE_ITO["grey"]
_OVERALL_COLOUR: Final = OKABE_ITO["black"]  # neither group colour


# --- labels ------------------------------------------------------------------------------------


def column_label(column: str) -> str:
    """'problem_descriptor' -> 'Problem descriptor'; the derived band is named in full
    (:func:`analysis.schema.column_label`, the one label used everywhere)."""
    return schema_column_label(column)


def outcome_key(choice: str, measure: str) -> str:
    """The outcome :func:`~analysis.compare.subgroup_analysis` takes: a rate key, or the
    sidebar ``measure`` when the page's choice is :data:`CHANGE_OUTCOME`."""
    return measure if choice == CHANGE_OUTCOME else choice


def outcome_label(outcome: str) -> str:
    """'recovery' -> 'Recovery'; 'phq9' -> 'Change in PHQ-9'."""
    if outcome in RATE_DEFINITIONS:
        return RATE_DEFINITIONS[outcome].label
    return f"Change in {measure_for(outcome).label}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def outcome_phrase(outcome: str) -> str:
    """For a sentence: 'recovery', 'reliable improvement', 'change in PHQ-9'."""
    return RATE_DEFINITIONS[outcome].label.lower() if outcome in RATE_DEFINITIONS else _lower_first(
        outcome_label(outcome))


def column_phrase(column: str) -> str:
    """For a sentence: 'gender', 'baseline severity (PHQ-9 band)'."""
    return _lower_first(column_label(column))


def is_rate(outcome: str) -> bool:
    return outcome in RATE_DEFINITIONS


def _difference_text(value: float | None, outcome: str) -> str:
    if value is None or not math.isfinite(value):
        return fmt.MISSING
    return f"{fmt.points(value)} points" if is_rate(outcome) else f"{fmt.number(value)} points"


def _scale(outcome: str) -> float:
    return 100.0 if is_rate(outcome) else 1.0


def line_shape(axis: str, value: float, colour: str, width: float = 2, dash: str = "solid") -> dict:
    """A full-length reference line as a layout shape: vertical at x = ``value`` (``axis="x"``)
    or horizontal at y = ``value`` (``axis="y"``). The same line ``Figure.add_vline`` draws,
    without its per-call validation cost (the figures are rebuilt whenever the inputs change)."""
    line = dict(color=colour, width=width, dash=dash)
    if axis == "x":
        return dict(type="line", xref="x", yref="paper", x0=value, x1=value, y0=0, y1=1, line=line, layer="below")
    return dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=value, y1=value, line=line, layer="below")


# --- the forest rows -----------------------------------------------------------------------------


def subgroup_counts(episodes: pd.DataFrame, flags: pd.DataFrame, column: str, outcome: str) -> pd.DataFrame:
    """Numerator and denominator per subgroup level and group for a rate outcome.

    The same selection as :func:`~analysis.compare.subgroup_analysis` (the rate's
    denominator flag, blank levels as "(blank)"). Columns ``level, group, count, denominator``.
    Needed by presentation-safe mode, which hides a rate when its numerator is below 5.
    """
    definition = RATE_DEFINITIONS[outcome]
    level = episodes[column].astype("object").where(episodes[column].notna(), "(blank)").astype(str).to_numpy()
    in_denominator = flags[definition.denominator_column].to_numpy(dtype=bool)
    hit = flags[definition.numerator_column].to_numpy(dtype=bool)[in_denominator]
    level, group = level[in_denominator], flags["group"].to_numpy()[in_denominator]
    rows = []
    for name in sorted(set(level.tolist())):
        at_level = level == name
        for g in GROUPS:
            cell = at_level & (group == g)
            rows.append({"level": name, "group": g, "count": int(hit[cell].sum()), "denominator": int(cell.sum())})
    return pd.DataFrame(rows, columns=["level", "group", "count", "denominator"])


def _has(value: object) -> bool:
    """True for a real number (not None, not NaN: pandas turns None into NaN in float columns)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _small(n: int) -> bool:
    return n < SUPPRESS_BELOW


def _overall_row(overall: RateComparison | MeasureComparison | None, outcome: str, safe: bool) -> dict:
    if overall is None:
        return {"label": OVERALL_LABEL, "level": OVERALL_LABEL, "is_overall": True, "n_pa": 0, "n_control": 0,
                "estimate": None, "ci_low": None, "ci_high": None, "small": False, "hidden": False,
                "note": "No participants with this outcome."}
    if isinstance(overall, RateComparison):
        estimate: Estimate = overall.difference
        n = {g: overall.groups[g].denominator for g in GROUPS}
        hidden = safe and any(_small(overall.groups[g].count) or _small(overall.groups[g].denominator) for g in GROUPS)
    else:
        estimate = overall.welch
        n = {g: overall.descriptives[g].n for g in GROUPS}
        hidden = safe and any(_small(n[g]) for g in GROUPS)
    return _row(OVERALL_LABEL, True, n[GROUP_PA], n[GROUP_CONTROL], estimate.estimate,
                estimate.ci95, estimate.reason, hidden, outcome)


def _row(level: str, is_overall: bool, n_pa: int, n_control: int, estimate: float | None,
         ci: tuple[float, float] | None, note: str | None, hidden: bool, outcome: str) -> dict:
    scale = _scale(outcome)
    shown = estimate is not None and not hidden
    return {"label": level, "level": level, "is_overall": is_overall, "n_pa": int(n_pa), "n_control": int(n_control),
            "estimate": estimate * scale if shown else None,
            "ci_low": ci[0] * scale if (shown and ci) else None, "ci_high": ci[1] * scale if (shown and ci) else None,
            "small": (not is_overall) and min(n_pa, n_control) < SMALL_SUBGROUP, "hidden": hidden,
            "note": note if isinstance(note, str) and note else None}


def forest_rows(result: SubgroupResult, overall: RateComparison | MeasureComparison | None, safe: bool = False,
                counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per subgroup level plus the overall comparison (first), ready to plot.

    Estimates are on the display scale: percentage points for rates (× 100), score points for
    change. ``small`` flags levels with fewer than :data:`SMALL_SUBGROUP` per group.
    With ``safe`` the presentation-safe rule for comparisons applies: a level's difference is
    hidden when either group's n (or, for a rate, its numerator from ``counts``, see
    :func:`subgroup_counts`) is below 5 — the estimate becomes None and ``hidden`` True.
    Columns :data:`FOREST_COLUMNS`.
    """
    rows = [_overall_row(overall, result.outcome, safe)]
    numerators = {}
    if counts is not None and len(counts):
        numerators = {(r.level, r.group): int(r.count) for r in counts.itertuples()}
    for record in result.table.to_dict("records"):
        n_pa, n_control = int(record["n_pa"]), int(record["n_control"])
        hidden = False
        if safe:
            hidden = _small(n_pa) or _small(n_control)
            if is_rate(result.outcome):
                hidden = hidden or any(_small(numerators.get((record["level"], g), 0)) for g in GROUPS)
        estimate = record["estimate"]
        estimate = None if estimate is None or (isinstance(estimate, float) and math.isnan(estimate)) else estimate
        ci = None
        if record.get("ci_low") is not None and not pd.isna(record["ci_low"]):
            ci = (float(record["ci_low"]), float(record["ci_high"]))
        rows.append(_row(str(record["level"]), False, n_pa, n_control, estimate, ci, record.get("note"), hidden,
                         result.outcome))
    return pd.DataFrame(rows, columns=list(FOREST_COLUMNS))


def small_levels(rows: pd.DataFrame) -> list[str]:
    """Subgroup levels with fewer than :data:`SMALL_SUBGROUP` people in either group."""
    return [str(level) for level in rows.loc[rows["small"].astype(bool) & ~rows["is_overall"].astype(bool), "level"]]


def _n_text(row: pd.Series | dict, safe: bool) -> str:
    return f"n {count_shown(int(row['n_pa']), safe, short=True)} vs {count_shown(int(row['n_control']), safe, short=True)}"


def interaction_text(interaction: Estimate) -> str:
    """'χ² = 0.22 on 1 df, p = 0.64' or 'not available: <reason>'."""
    if interaction.statistic is None:
        reason = interaction.reason or "it cannot be computed for these data."
        return "not available: " + reason[0].lower() + reason[1:]
    df = f" on {interaction.df:g} df" if interaction.df is not None else ""
    return f"{interaction.statistic_name} = {fmt.number(interaction.statistic, 2)}{df}, {fmt.p_value(interaction.p)}"


def subgroup_table(rows: pd.DataFrame, outcome: str, safe: bool = False) -> pd.DataFrame:
    """The forest rows as a readable table (counts safe-mode rounded when ``safe``)."""
    unit = "percentage points" if is_rate(outcome) else "points"
    out = []
    for row in rows.to_dict("records"):
        if row["hidden"]:
            estimate, ci, note = "hidden (small numbers)", fmt.MISSING, ""
        else:
            estimate = fmt.number(row["estimate"], 0 if is_rate(outcome) else 1) if _has(row["estimate"]) else (
                "not estimable")
            ci = (fmt.ci((row["ci_low"], row["ci_high"]), "number", 0 if is_rate(outcome) else 1)
                  .removeprefix("95% CI ") if _has(row["ci_low"]) else fmt.MISSING)
            note = row["note"] if isinstance(row["note"], str) else ""
        flag = "fewer than 10 per group" if row["small"] else ""
        out.append({"Subgroup": row["label"], "n physical activity": count_shown(int(row["n_pa"]), safe, short=True),
                    "n control": count_shown(int(row["n_control"]), safe, short=True),
                    f"Difference PA − control ({unit})": estimate, "95% CI": ci,
                    "Caution": flag, "Note": note})
    return pd.DataFrame(out)


# --- forest plot -------------------------------------------------------------------------------


def forest_plot(rows: pd.DataFrame, outcome: str, column: str, safe: bool = False) -> go.Figure:
    """Forest plot: the PA − control difference in each subgroup level with its 95% CI.

    The overall comparison is the top row (diamond) and a dashed vertical line; the solid line
    is zero (no difference). Levels with fewer than 10 per group are drawn hollow and grey and
    labelled; levels that cannot be estimated (or are hidden in safe mode) keep their row with
    the reason written at zero. Labels give n per group.
    """
    figure = go.Figure()
    labels = [f"{r['label']} ({_n_text(r, safe)})" for r in rows.to_dict("records")]
    order = list(reversed(labels))  # first row at the top
    scale_text = "percentage points" if is_rate(outcome) else "points"
    # An invisible point per row keeps every row (also one that cannot be estimated) on the axis.
    figure.add_trace(go.Scatter(x=[0] * len(labels), y=labels, mode="markers", marker=dict(opacity=0),
                                showlegend=False, hoverinfo="skip", name="rows"))
    for kind, colour, symbol, size, name in (
            ("overall", _OVERALL_COLOUR, "diamond", 20, "Overall"),
            ("level", _LEVEL_COLOUR, "square", 14, f"Subgroup (≥ {SMALL_SUBGROUP} per group)"),
            ("small", _SMALL_COLOUR, "square-open", 14, f"Subgroup with fewer than {SMALL_SUBGROUP} per group")):
        xs, ys, lo, hi, text = [], [], [], [], []
        for label, row in zip(labels, rows.to_dict("records"), strict=True):
            this = "overall" if row["is_overall"] else ("small" if row["small"] else "level")
            if this != kind or not _has(row["estimate"]):
                continue
            xs.append(row["estimate"])
            ys.append(label)
            has_ci = _has(row["ci_low"])
            lo.append(row["estimate"] - row["ci_low"] if has_ci else 0)
            hi.append(row["ci_high"] - row["estimate"] if has_ci else 0)
            text.append(f"{row['label']}: {_difference_text(row['estimate'] / _scale(outcome), outcome)} "
                        f"({fmt.ci((row['ci_low'], row['ci_high']), 'number', 0 if is_rate(outcome) else 1)})"
                        if has_ci else f"{row['label']}: {_difference_text(row['estimate'] / _scale(outcome), outcome)}")
        if not xs:
            continue
        figure.add_trace(go.Scatter(
            x=xs, y=ys, mode="markers", name=name,
            marker=dict(color=colour, symbol=symbol, size=size, line=dict(color=colour, width=2)),
            error_x=dict(type="data", symmetric=False, array=hi, arrayminus=lo, color=colour, thickness=2.5, width=8),
            hovertext=text, hovertemplate="%{hovertext}<extra></extra>"))
    annotations = []
    for label, row in zip(labels, rows.to_dict("records"), strict=True):
        if not _has(row["estimate"]):
            reason = "hidden (small numbers)" if row["hidden"] else "not estimable"
            annotations.append(dict(x=0, y=label, xref="x", yref="y", text=reason, showarrow=False, xanchor="left",
                                    xshift=8, font=dict(size=16, color=REFERENCE_COLOUR)))
    shapes = [line_shape("x", 0, REFERENCE_COLOUR)]
    overall = rows[rows["is_overall"].astype(bool)]
    if len(overall) and _has(overall.iloc[0]["estimate"]):
        shapes.append(line_shape("x", float(overall.iloc[0]["estimate"]), _OVERALL_COLOUR, dash="dash"))
    direction = "right = physical activity higher" if is_rate(outcome) else "left = physical activity fell more"
    figure.update_layout(
        xaxis=dict(title=f"{outcome_label(outcome)}: PA − control ({scale_text}; {direction})", zeroline=False),
        yaxis=dict(categoryorder="array", categoryarray=order, type="category", automargin=True, title=None),
        showlegend=True, shapes=shapes, annotations=annotations, margin=dict(t=110))
    height = max(360, 150 + 56 * len(rows))
    return apply_theme(figure, f"{outcome_label(outcome)} by {column_phrase(column)} (95% CI)", height=height)


def forest_takeaway(rows: pd.DataFrame, outcome: str, column: str, interaction: Estimate) -> str:
    """One sentence: the range of subgroup differences, the overall one, the interaction test and
    how many levels are small or hidden."""
    levels = rows[~rows["is_overall"].astype(bool)]
    shown = levels[levels["estimate"].notna()]
    hidden = int(levels["hidden"].astype(bool).sum())
    scale = _scale(outcome)
    what = f"the difference in {outcome_phrase(outcome)} (PA − control)"
    if shown.empty:
        text = (f"No {column_phrase(column)} level has a difference that can be shown"
                + (" (small numbers are hidden in presentation-safe mode)" if hidden else
                   ": none has enough people in both groups"))
    else:
        low = shown.loc[shown["estimate"].astype(float).idxmin()]
        high = shown.loc[shown["estimate"].astype(float).idxmax()]
        if len(shown) == 1:
            text = (f"Only one {column_phrase(column)} level can be shown: {what} was "
                    f"{_difference_text(low['estimate'] / scale, outcome)} in {low['label']}")
        else:
            text = (f"Across {column_phrase(column)} levels {what} ranged from "
                    f"{_difference_text(low['estimate'] / scale, outcome)} ({low['label']}) to "
                    f"{_difference_text(high['estimate'] / scale, outcome)} ({high['label']})")
        overall = rows[rows["is_overall"].astype(bool)]
        if len(overall) and _has(overall.iloc[0]["estimate"]):
            text += f", against {_difference_text(overall.iloc[0]['estimate'] / scale, outcome)} overall"
    if interaction.statistic is None:
        text += "; the interaction test is " + interaction_text(interaction).rstrip(".")
    elif interaction.p is not None and interaction.p < ALPHA:
        text += (f"; the interaction test ({interaction_text(interaction)}) suggests the difference varies, "
                 "a hypothesis for a larger study, not a finding")
    else:
        text += f"; the interaction test ({interaction_text(interaction)}) gives no evidence that it varies"
    small = int(levels["small"].astype(bool).sum())
    text += (f". {small} of {len(levels)} levels {'has' if small == 1 else 'have'} fewer than {SMALL_SUBGROUP} "
             "people per group")
    if hidden:
        text += f"; {hidden} {'is' if hidden == 1 else 'are'} hidden in presentation-safe mode"
    return text + "."


# --- baseline balance --------------------------------------------------------------------------


def _variable_label(variable: str, level: str) -> str:
    if level == "mean":
        if variable.endswith("_first"):
            try:
                return f"{measure_for(variable.removesuffix('_first')).label} first score (mean)"
            except KeyError:
                return f"{variable} (mean)"
        return f"{column_label(variable)} (mean)"
    return f"{column_label(variable)}: {level}"


def balance_rows(episodes: pd.DataFrame, flags: pd.DataFrame, safe: bool = False) -> pd.DataFrame:
    """:func:`~analysis.compare.baseline_balance` with labels, n per group and the safe-mode rule.

    ``kind`` is ``mean`` (a first score or sessions: group columns hold means) or ``share``
    (a category level: group columns hold the share of finishers). ``n_pa``/``n_control`` are
    the people behind each group figure (for a share, the number with that level). With
    ``safe``, a group figure resting on fewer than 5 people is hidden (None), and so is the SMD
    when either group's figure is hidden (``hidden`` True). Columns :data:`BALANCE_COLUMNS`; no
    rows when a group has no finishers.
    """
    finished = flags["finished"].to_numpy(dtype=bool)
    finishers = episodes[finished]
    is_pa = (finishers["group"] == GROUP_PA).to_numpy()
    if not is_pa.any() or is_pa.all():
        # A group without finishers: no SMD exists (and baseline_balance cannot rank None values).
        return pd.DataFrame(columns=list(BALANCE_COLUMNS))
    balance = baseline_balance(episodes, flags)
    rows = []
    for record in balance.to_dict("records"):
        variable, level = record["variable"], record["level"]
        if level == "mean":
            values = finishers[variable].to_numpy(dtype="float64", na_value=np.nan)
            n_pa, n_control = int((~np.isnan(values[is_pa])).sum()), int((~np.isnan(values[~is_pa])).sum())
            kind = "mean"
        else:
            cells = finishers[variable].astype("object").where(finishers[variable].notna(), "(blank)").astype(str)
            hit = (cells == level).to_numpy()
            n_pa, n_control = int(hit[is_pa].sum()), int(hit[~is_pa].sum())
            kind = "share"
        group_totals = (int(is_pa.sum()), int((~is_pa).sum()))
        hide_pa = safe and (_small(n_pa) or _small(group_totals[0]))
        hide_control = safe and (_small(n_control) or _small(group_totals[1]))
        hidden = hide_pa or hide_control
        smd = record["smd"]
        smd = None if smd is None or (isinstance(smd, float) and math.isnan(smd)) else float(smd)
        rows.append({"variable": variable, "level": level, "label": _variable_label(variable, level), "kind": kind,
                     "n_pa": n_pa, "n_control": n_control,
                     GROUP_PA: None if hide_pa else _clean(record[GROUP_PA]),
                     GROUP_CONTROL: None if hide_control else _clean(record[GROUP_CONTROL]),
                     "smd": None if hidden else smd,
                     "imbalanced": (not hidden) and smd is not None and abs(smd) > SMD_IMBALANCE,
                     "hidden": hidden})
    return pd.DataFrame(rows, columns=list(BALANCE_COLUMNS))


def _clean(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def balance_table(rows: pd.DataFrame, safe: bool = False) -> pd.DataFrame:
    """The balance rows as a readable table: means to 1 decimal, shares as percentages, SMD to 2."""
    def figure(value: float | None, kind: str) -> str:
        if not _has(value):
            return "hidden (small numbers)" if safe else fmt.MISSING
        return fmt.number(value) if kind == "mean" else fmt.percent(value)

    out = []
    for row in rows.to_dict("records"):
        out.append({"Characteristic": row["label"], "Physical activity": figure(row[GROUP_PA], row["kind"]),
                    "Control": figure(row[GROUP_CONTROL], row["kind"]),
                    "SMD (PA − control)": fmt.number(row["smd"], 2) if _has(row["smd"]) else (
                        "hidden" if row["hidden"] else fmt.MISSING),
                    f"Imbalanced (|SMD| > {SMD_IMBALANCE:g})": "yes" if row["imbalanced"] else "no"})
    return pd.DataFrame(out)


def love_plot(rows: pd.DataFrame) -> go.Figure:
    """Love plot: one dot per characteristic at its SMD (PA − control), dashed lines at ±0.1.

    Dots beyond ±0.1 (imbalance, Austin 2009) are reddish purple, the rest grey; hidden or
    uncomputable SMDs are left out.
    """
    shown = rows[rows["smd"].notna()]
    order = list(reversed(rows["label"].tolist()))
    figure = go.Figure()
    for imbalanced, colour, name in ((True, OKABE_ITO["reddish_purple"], f"Imbalanced (|SMD| > {SMD_IMBALANCE:g})"),
                                     (False, OKABE_ITO["grey"], "Balanced")):
        part = shown[shown["imbalanced"].astype(bool) == imbalanced]
        if part.empty:
            continue
        figure.add_trace(go.Scatter(
            x=part["smd"].astype(float), y=part["label"], mode="markers", name=name,
            marker=dict(color=colour, size=13, line=dict(color="#1a1a1a", width=1)),
            hovertext=[f"{lab}: SMD {fmt.number(v, 2)}" for lab, v in zip(part["label"], part["smd"], strict=True)],
            hovertemplate="%{hovertext}<extra></extra>"))
    shapes = [line_shape("x", x, REFERENCE_COLOUR, 1.5, "dash") for x in (-SMD_IMBALANCE, SMD_IMBALANCE)]
    shapes.append(line_shape("x", 0, REFERENCE_COLOUR))
    extent = max([0.5, *(abs(float(v)) for v in shown["smd"])]) * 1.1
    figure.update_layout(
        xaxis=dict(title="SMD, PA − control (right = more in physical activity)",
                   range=[-extent, extent], zeroline=False),
        shapes=shapes,
        yaxis=dict(categoryorder="array", categoryarray=order, type="category", automargin=True, title=None,
                   tickfont=dict(size=16)), margin=dict(t=110))
    return apply_theme(figure, "Baseline balance of the groups (finishers)", height=max(380, 140 + 26 * len(rows)))


def love_takeaway(rows: pd.DataFrame, top: int = 3) -> str:
    """One sentence naming the largest imbalances (by |SMD|) and how many exceed 0.1."""
    shown = rows[rows["smd"].notna()]
    if shown.empty:
        return "Baseline balance cannot be shown: no characteristic has an SMD for both groups."
    imbalanced = shown[shown["imbalanced"].astype(bool)]
    ranked = shown.assign(size=shown["smd"].astype(float).abs()).sort_values("size", ascending=False, kind="stable")
    if imbalanced.empty:
        text = (f"The groups were similar at the start: no characteristic differs by more than "
                f"|SMD| {SMD_IMBALANCE:g}")
    else:
        parts = []
        for row in ranked.head(top).to_dict("records"):
            more = "physical activity" if row["smd"] > 0 else "control"
            if row["kind"] == "mean":
                detail = f"higher in {more}"
            else:
                detail = f"more common in {more}"
            parts.append(f"{row['label']} (SMD {fmt.number(row['smd'], 2)}, {detail})")
        text = (f"The self-selected groups differed at the start on {len(imbalanced)} of {len(shown)} "
                f"characteristics (|SMD| > {SMD_IMBALANCE:g}); the largest: " + "; ".join(parts))
    hidden = int(rows["hidden"].astype(bool).sum())
    if hidden:
        text += f". {hidden} {'is' if hidden == 1 else 'are'} hidden in presentation-safe mode"
    return text + "."


__all__ = [
    "CHANGE_OUTCOME", "SMALL_SUBGROUP", "balance_rows", "balance_table", "column_label", "forest_plot",
    "forest_rows", "forest_takeaway", "interaction_text", "love_plot", "love_takeaway", "outcome_key",
    "outcome_label", "outcome_phrase", "column_phrase", "small_levels", "subgroup_counts", "subgroup_table",
]
