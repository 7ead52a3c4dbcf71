"""Figures and tables for the Sites page: a forest plot by site with the pooled diamond and the
prediction interval, each with its one-sentence takeaway, and the tables beside it.

Numbers come from :func:`analysis.sites.site_analysis` (each site's PA − control difference, then a
Paule–Mandel random-effects meta-analysis, HKSJ interval below 10 sites). Presentation-safe mode
(:mod:`analysis.disclosure`): a site's counts are suppressed below 5 and rounded to 5, and its
estimate is hidden when a group (or, for a rate, a group's numerator) is below 5; the pooled figures
combine every site and stay shown.
"""

from __future__ import annotations

import math
from typing import Final

import pandas as pd
import plotly.graph_objects as go

from analysis import formatting as fmt
from analysis.disclosure import count_shown
from analysis.figures.theme import OKABE_ITO, REFERENCE_COLOUR, apply_theme
from analysis.schema import ALPHA, GROUP_CONTROL, GROUP_PA
from analysis.sites import SITE_TOO_FEW_SAFE, SiteAnalysis, SiteEffect, SiteOutcome, heterogeneity_sentence

POOLED_LABEL: Final = "Pooled (random effects)"
PREDICTION_LABEL: Final = "Prediction interval (a new site)"
_SITE_COLOUR: Final = "#1a1a1a"
_POOLED_COLOUR: Final = OKABE_ITO["black"]
_PREDICTION_COLOUR: Final = OKABE_ITO["bluish_green"]
_OUTLIER_COLOUR: Final = OKABE_ITO["reddish_purple"]  # neither group colour


def _scale(outcome: SiteOutcome) -> float:
    """Rates are drawn in percentage points, measures in points."""
    return 100.0 if outcome.kind == "rate" else 1.0


def _unit(outcome: SiteOutcome) -> str:
    return "percentage points" if outcome.kind == "rate" else "points"


def _decimals(outcome: SiteOutcome) -> int:
    return 0 if outcome.kind == "rate" else 1


def _n(n: int | None, safe: bool) -> str:
    """A count in a label or table cell: :func:`analysis.disclosure.count_shown`'s short form ("<5")."""
    return count_shown(n, safe, short=True)


def _plain(text: str) -> str:
    """Site names are user text: plotly reads a few HTML tags in labels, so < and > are made entities."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _value(outcome: SiteOutcome, value: float | None) -> str:
    return fmt.number(None if value is None else value * _scale(outcome), _decimals(outcome))


def _interval(outcome: SiteOutcome, ci: tuple[float, float] | None) -> str:
    if ci is None:
        return fmt.MISSING
    return f"{_value(outcome, ci[0])} to {_value(outcome, ci[1])}"


def outlier_sites(outcome: SiteOutcome) -> list[str]:
    """Pooled sites whose own 95% CI does not contain the pooled estimate."""
    pooled = outcome.pooled.estimate
    if pooled is None:
        return []
    return [s.site for s in outcome.per_site
            if s.included and s.estimate.ci95 is not None and not s.estimate.ci95[0] <= pooled <= s.estimate.ci95[1]]


def _shown(effect: SiteEffect, safe: bool) -> bool:
    return effect.estimate.estimate is not None and not effect.hidden(safe)


def forest_plot(outcome: SiteOutcome, safe: bool = False) -> go.Figure:
    """Forest plot: each site's PA − control difference with its 95% CI (square sized by its weight),
    then the pooled estimate as a diamond spanning its CI and the prediction interval for a new site.

    The solid vertical line is zero (no difference), the dashed one the pooled estimate. A site whose
    CI misses the pooled estimate is drawn in reddish purple; a site left out of the pooling (or hidden in
    presentation-safe mode) keeps its row with the reason written at zero.
    """
    scale = _scale(outcome)
    outliers = set(outlier_sites(outcome))
    labels = [f"{_plain(s.site)} (n {_n(s.n[GROUP_PA], safe)} vs {_n(s.n[GROUP_CONTROL], safe)})"
              for s in outcome.per_site]
    rows = [*labels, POOLED_LABEL, PREDICTION_LABEL]
    y_of = {label: float(len(rows) - 1 - i) for i, label in enumerate(rows)}  # first row at the top
    figure = go.Figure()
    annotations = []
    for kind, colour, name in (("site", _SITE_COLOUR, "Site (square sized by its weight)"),
                               ("outlier", _OUTLIER_COLOUR, "Site whose CI misses the pooled estimate")):
        xs, ys, lo, hi, sizes, text = [], [], [], [], [], []
        for label, effect in zip(labels, outcome.per_site, strict=True):
            this = "outlier" if effect.site in outliers else "site"
            if this != kind or not _shown(effect, safe):
                continue
            estimate = effect.estimate.estimate * scale  # type: ignore[operator]
            ci = effect.estimate.ci95
            xs.append(estimate)
            ys.append(y_of[label])
            lo.append(estimate - ci[0] * scale if ci else 0)
            hi.append(ci[1] * scale - estimate if ci else 0)
            sizes.append(10 + 26 * math.sqrt(effect.weight) if effect.weight else 10)
            text.append(f"{_plain(effect.site)}: {_value(outcome, effect.estimate.estimate)} "
                        f"({_interval(outcome, ci)}); weight {fmt.percent(effect.weight)}"
                        + ("" if effect.included else " (not pooled)"))
        if xs:
            figure.add_trace(go.Scatter(
                x=xs, y=ys, mode="markers", name=name,
                marker=dict(color=colour, symbol="square", size=sizes, line=dict(color=colour, width=1)),
                error_x=dict(type="data", symmetric=False, array=hi, arrayminus=lo, color=colour, thickness=2.5,
                             width=8),
                hovertext=text, hovertemplate="%{hovertext}<extra></extra>"))
    for label, effect in zip(labels, outcome.per_site, strict=True):
        if not effect.included or not _shown(effect, safe):
            why = ("hidden (small numbers)" if effect.hidden(safe) else
                   "not pooled: fewer than 2 in a group" if effect.reason and "Fewer than" in effect.reason
                   else "not pooled: not estimable")
            annotations.append(_note(y_of[label], why, below=_shown(effect, safe)))
    shapes = [dict(type="line", xref="x", yref="paper", x0=0, x1=0, y0=0, y1=1,
                   line=dict(color=REFERENCE_COLOUR, width=2))]
    pooled = outcome.pooled
    if pooled.estimate is not None and pooled.ci95 is not None:
        mid, low, high = pooled.estimate * scale, pooled.ci95[0] * scale, pooled.ci95[1] * scale
        y = y_of[POOLED_LABEL]
        figure.add_trace(go.Scatter(
            x=[low, mid, high, mid, low], y=[y, y + 0.3, y, y - 0.3, y], mode="lines", fill="toself",
            fillcolor=_POOLED_COLOUR, line=dict(color=_POOLED_COLOUR, width=1), name="Pooled estimate (diamond: 95% CI)",
            hovertext=f"Pooled: {_value(outcome, pooled.estimate)} ({_interval(outcome, pooled.ci95)})",
            hoveron="fills", hoverinfo="text"))
        shapes.append(dict(type="line", xref="x", yref="paper", x0=mid, x1=mid, y0=0, y1=1,
                           line=dict(color=_POOLED_COLOUR, width=1.5, dash="dash")))
        if pooled.prediction95 is not None:
            p_low, p_high = pooled.prediction95[0] * scale, pooled.prediction95[1] * scale
            y = y_of[PREDICTION_LABEL]
            figure.add_trace(go.Scatter(
                x=[p_low, p_high], y=[y, y], mode="lines+markers", name="95% prediction interval (a new site)",
                line=dict(color=_PREDICTION_COLOUR, width=5),
                marker=dict(symbol="line-ns", size=16, line=dict(color=_PREDICTION_COLOUR, width=3)),
                hovertext=[f"A new site: {_interval(outcome, pooled.prediction95)}"] * 2, hoverinfo="text"))
        else:
            annotations.append(_note(y_of[PREDICTION_LABEL], "not available: " + _lower(pooled.prediction_reason or "")))
    else:
        for row in (POOLED_LABEL, PREDICTION_LABEL):
            annotations.append(_note(y_of[row], "not available: " + _lower(pooled.reason or "too few sites")))
    title = (f"{outcome.label}: PA − control (percentage points; right = PA higher)" if outcome.kind == "rate"
             else f"{outcome.label}: adjusted PA − control (points; left = PA lower)")
    figure.update_layout(
        xaxis=dict(title=title, zeroline=False),
        yaxis=dict(tickmode="array", tickvals=[y_of[r] for r in rows], ticktext=rows, range=[-0.7, len(rows) - 0.4],
                   automargin=True, title=None, showgrid=False, zeroline=False),
        showlegend=True, shapes=shapes, annotations=annotations)
    apply_theme(figure, f"{outcome.label} by site, pooled (95% CI)", height=max(420, 210 + 52 * len(rows)))
    figure.update_layout(margin=dict(t=150), title=dict(y=0.98, yanchor="top"))
    return figure


def _note(y: float, text: str, below: bool = False) -> dict:
    """A grey note written at zero on a row (a reason in place of a figure)."""
    return dict(x=0, y=y, xref="x", yref="y", text=text, showarrow=False, xanchor="left", xshift=8,
                yshift=-14 if below else 0, font=dict(size=14, color=REFERENCE_COLOUR))


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def forest_takeaway(outcome: SiteOutcome, safe: bool = False) -> str:
    """One sentence (or three) from the same numbers: the pooled effect and whether it could be
    chance, how much the sites differ, what a new site might see, and which sites stand out."""
    pooled = outcome.pooled
    unit = _unit(outcome)
    if pooled.estimate is None:
        return f"{outcome.label} cannot be pooled across sites: {_lower(pooled.reason or 'too few sites')}"
    if outcome.kind == "rate":
        better = pooled.estimate > 0 if outcome.outcome != "reliable_deterioration" else pooled.estimate < 0
        size = f"{fmt.points(abs(pooled.estimate))} {unit} {'higher' if pooled.estimate > 0 else 'lower'}"
        head = f"Pooled across {pooled.k} sites, {outcome.label.lower()} was {size} with physical activity"
    else:
        better = pooled.estimate < 0
        size = f"{fmt.number(abs(pooled.estimate))} {unit} {'lower' if pooled.estimate < 0 else 'higher'}"
        head = f"Pooled across {pooled.k} sites, {outcome.label} ended {size} with physical activity"
    chance = (pooled.p is not None and pooled.p >= ALPHA)
    text = (f"{head} ({_interval(outcome, pooled.ci95)}, {fmt.p_value(pooled.p)})"
            + (": this could be chance." if chance else
               (": in physical activity's favour." if better else ": against physical activity.")))
    if pooled.i2 is not None:
        text += (f" The sites differ {'more than chance would explain' if (pooled.q_p or 1) < ALPHA else 'no more than chance would explain'}"
                 f" (I² = {fmt.percent(pooled.i2)})")
        if pooled.prediction95 is not None:
            text += f"; a new site could expect anything from {_interval(outcome, pooled.prediction95)} {unit}."
        else:
            text += "."
    outliers = [s for s in outlier_sites(outcome)
                if not next(e for e in outcome.per_site if e.site == s).hidden(safe)]
    if outliers:
        text += (f" {'Site' if len(outliers) == 1 else 'Sites'} {', '.join(outliers)} "
                 f"{'stands' if len(outliers) == 1 else 'stand'} out: {'its' if len(outliers) == 1 else 'their'} "
                 "interval misses the pooled estimate.")
    left_out = [s.site for s in outcome.excluded]
    if left_out:
        text += f" Not pooled (too few people): {', '.join(left_out)}."
    return text


def site_table(outcome: SiteOutcome, safe: bool = False) -> pd.DataFrame:
    """Each site, then the pooled row, as a readable table (safe-mode aware)."""
    unit = _unit(outcome)
    rows = []
    for effect in outcome.per_site:
        hidden = effect.hidden(safe)
        rows.append({
            "Site": effect.site,
            "n physical activity": _n(effect.n[GROUP_PA], safe),
            "n control": _n(effect.n[GROUP_CONTROL], safe),
            f"Difference PA − control ({unit})": "hidden (small numbers)" if hidden else (
                _value(outcome, effect.estimate.estimate) if effect.estimate.estimate is not None else "not estimable"),
            "95% CI": fmt.MISSING if hidden else _interval(outcome, effect.estimate.ci95),
            "Weight": fmt.MISSING if hidden or effect.weight is None else fmt.percent(effect.weight, 1),
            "Pooled": "yes" if effect.included else "no",
            "Note": _reason(effect.reason, safe),
        })
    pooled = outcome.pooled
    rows.append({"Site": POOLED_LABEL, "n physical activity": _n(sum(s.n[GROUP_PA] for s in outcome.per_site
                                                                             if s.included), safe),
                 "n control": _n(sum(s.n[GROUP_CONTROL] for s in outcome.per_site if s.included), safe),
                 f"Difference PA − control ({unit})": _value(outcome, pooled.estimate) if pooled.estimate is not None
                 else "not available",
                 "95% CI": _interval(outcome, pooled.ci95), "Weight": "100%" if pooled.estimate is not None else "",
                 "Pooled": "", "Note": pooled.reason or pooled.interval})
    return pd.DataFrame(rows)


def pooled_table(analysis: SiteAnalysis) -> pd.DataFrame:
    """Every rate and measure pooled across sites, one row each, with its heterogeneity."""
    rows = []
    for outcome in analysis.outcomes.values():
        p = outcome.pooled
        rows.append({
            "Outcome": outcome.label, "Unit": _unit(outcome), "Sites pooled": p.k,
            # the estimate and its CI in one cell: eleven columns did not fit the page at 1280 px
            "Pooled difference, PA − control (95% CI)": (f"{_value(outcome, p.estimate)} ({_interval(outcome, p.ci95)})"
                                                         if p.estimate is not None else "not available"),
            "p": fmt.p_value(p.p) if p.p is not None else fmt.MISSING,
            "τ (between-site SD)": fmt.number(None if p.tau2 is None else math.sqrt(p.tau2) * _scale(outcome),
                                              _decimals(outcome) + 1),
            "I²": fmt.percent(p.i2), "Q (p)": (f"{fmt.number(p.q)} ({fmt.p_value(p.q_p)})" if p.q is not None
                                               else fmt.MISSING),
            "95% prediction interval": _interval(outcome, p.prediction95),
            "Note": p.reason or p.prediction_reason or "",
        })
    table = pd.DataFrame(rows)
    # A Note column with nothing in it only takes width from the figures (the table must fit the page at 1280 px).
    return table.drop(columns="Note") if len(table) and not table["Note"].astype(bool).any() else table


def _reason(reason: str | None, safe: bool) -> str:
    """A site's reason as shown: in presentation-safe mode one that names no count (a too-few reason
    states the exact group sizes)."""
    if safe and reason and "Fewer than" in reason:
        return SITE_TOO_FEW_SAFE
    return reason or ""


def participants_table(analysis: SiteAnalysis, safe: bool = False) -> pd.DataFrame:
    """Finishers per site and group (safe-mode aware)."""
    return pd.DataFrame([{"Site": site, "Physical activity (finished)": _n(n[GROUP_PA], safe),
                          "Control (finished)": _n(n[GROUP_CONTROL], safe),
                          "Pooled": "no: " + _reason(analysis.excluded[site], safe) if site in analysis.excluded
                          else "yes"}
                         for site, n in analysis.participants.items()])


def excluded_lines(analysis: SiteAnalysis, outcome: SiteOutcome | None = None, safe: bool = False) -> list[str]:
    """'Site: reason' for every site left out of the pooling (of ``outcome``, or of every outcome);
    in presentation-safe mode the reasons name no count."""
    if outcome is not None:
        return [f"{s.site}: {_reason(s.reason, safe)}" for s in outcome.excluded]
    return [f"{site}: {_reason(why, safe)}" for site, why in analysis.excluded.items()]


__all__ = ["forest_plot", "forest_takeaway", "site_table", "pooled_table", "participants_table", "excluded_lines",
           "outlier_sites", "heterogeneity_sentence", "POOLED_LABEL", "PREDICTION_LABEL"]
