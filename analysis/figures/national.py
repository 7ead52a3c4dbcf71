"""Figures for the pilot against NHS England's published figures (:mod:`analysis.national`).

Each builder returns a themed ``go.Figure`` carrying the Open Government Licence attribution as
a note under the plot; each ``*_takeaway`` gives the chart's message as one sentence from the
same numbers. ``hidden`` names pilot groups whose figures presentation-safe mode suppresses:
their marks are left out, never drawn from a hidden number. Published national figures are
already disclosure-controlled by NHS England and are drawn as published.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from analysis import formatting as fmt
from analysis.figures.theme import GROUP_COLOURS, GROUP_INK, GROUP_ORDER, OKABE_ITO, REFERENCE_COLOUR, apply_theme
from analysis.national import ATTRIBUTION, RATE_LABELS, Benchmark, CaseMix, Funnel
from analysis.results import Rate
from analysis.schema import GROUP_LABELS

ENGLAND_COLOUR = OKABE_ITO["black"]
ORG_COLOUR = OKABE_ITO["bluish_green"]
PROVIDER_COLOUR = "#BBBBBB"
SOURCE_NOTE = ATTRIBUTION.replace(" Source:", "<br>Source:")  # the full attribution, on two lines


def add_attribution(figure: go.Figure, y: float = -0.2, width: int | None = None) -> go.Figure:
    """The Open Government Licence attribution under the plot, so a saved PNG or SVG carries it: for
    every chart that draws an NHS England figure (here, and the Overview's and Recovery page's lines).
    ``width`` wraps it at that many characters for a narrow chart."""
    import textwrap

    text = SOURCE_NOTE if width is None else "<br>".join(textwrap.wrap(ATTRIBUTION, width))
    figure.add_annotation(text=text, xref="paper", yref="paper", x=0, y=y, xanchor="left", yanchor="top",
                          align="left", showarrow=False, font=dict(size=12, color=REFERENCE_COLOUR))
    figure.update_layout(margin=dict(b=110))
    return figure


_source = add_attribution


def _wrap(text: str, width: int = 26) -> str:
    import textwrap

    return "<br>".join(textwrap.wrap(text, width)) or text


def _pct(rate: float | None, decimals: int = 1) -> str:
    return fmt.MISSING if rate is None else f"{rate * 100:.{decimals}f}%"


# --- the pilot beside England and an organisation -----------------------------------------------------------


_BARGAP = 0.2


def comparison_chart(pilot: Mapping[str, Mapping[str, Rate]], england: Benchmark, org: Benchmark | None = None,
                     hidden: Mapping[str, frozenset[str]] | None = None) -> go.Figure:
    """The four rates: each pilot group (Wilson 95% CI) beside England and, if given, an organisation."""
    hidden = dict(hidden or {})
    keys = list(RATE_LABELS)
    labels = [RATE_LABELS[k].replace(" ", "<br>", 1) for k in keys]
    figure = go.Figure()
    series = [(f"England {england.year}", england, ENGLAND_COLOUR)]
    if org is not None and org.organisation.org_type != "England":
        series.append((_wrap(org.organisation.label), org, ORG_COLOUR))
    bars = len(GROUP_ORDER) + len(series)  # bars side by side in each rate's slot
    for slot, group in enumerate(GROUP_ORDER):
        ys, plus, minus, texts = [], [], [], []
        for key in keys:
            rate = pilot[key][group]
            shown = rate.rate is not None and group not in hidden.get(key, frozenset())
            ys.append(rate.rate * 100 if shown else None)
            lo, hi = rate.ci95 if (shown and rate.ci95) else (None, None)
            plus.append((hi - rate.rate) * 100 if hi is not None else 0)
            minus.append((rate.rate - lo) * 100 if lo is not None else 0)
            texts.append(fmt.percent(rate.rate) if shown else "hidden")
        # The value is written above the whisker's top, never where the whisker runs through it;
        # ``text`` keeps it for hover and tests.
        figure.add_trace(go.Bar(x=labels, y=ys, name=GROUP_LABELS[group], marker_color=GROUP_COLOURS[group],
                                text=texts, textposition="none", cliponaxis=False,
                                error_y=dict(type="data", symmetric=False, array=plus, arrayminus=minus,
                                             thickness=2, width=6, color="#1a1a1a")))
        offset = (slot - (bars - 1) / 2) * (1 - _BARGAP) / bars
        for i, (y, p, text) in enumerate(zip(ys, plus, texts, strict=True)):
            # "hidden" (safe mode) is written upright along its empty slot: side by side they overlapped.
            figure.add_annotation(x=i + offset, y=(y or 0) + p, xref="x", yref="y", text=text, showarrow=False,
                                  yanchor="bottom", yshift=3, font=dict(size=14, color=GROUP_INK[group]),
                                  textangle=0 if y is not None else -90)
    for name, figures, colour in series:
        values = [figures.rates[k].rate for k in keys]
        figure.add_trace(go.Bar(x=labels, y=[v * 100 if v is not None else None for v in values], name=name,
                                marker_color=colour, marker_pattern_shape="/" if colour == ORG_COLOUR else "",
                                text=[_pct(v) for v in values], textposition="outside", cliponaxis=False))
    ticks = list(range(0, 101, 20))  # the axis runs to 112% to leave room for values above whiskers
    figure.update_layout(barmode="group", yaxis=dict(title="Percent", range=[0, 112], tickvals=ticks,
                                                     ticktext=[f"{t}%" for t in ticks]),
                         bargap=_BARGAP, bargroupgap=0.05)
    # Not the section's heading again: the title names what the bars are, for the chart on its own (SVG, PNG, slides).
    apply_theme(figure, f"Outcome rates: the pilot's groups beside published figures, {england.year}", height=520)
    figure.update_layout(legend=dict(orientation="v", x=1.02, y=1, yanchor="top", xanchor="left"), margin=dict(r=260))
    _source(figure)
    return figure


def comparison_takeaway(pilot: Mapping[str, Mapping[str, Rate]], england: Benchmark,
                        hidden: Mapping[str, frozenset[str]] | None = None) -> str:
    hidden = dict(hidden or {})
    target = england.rates["recovery"].rate
    parts = []
    for group in GROUP_ORDER:
        rate = pilot["recovery"][group]
        if rate.rate is None or group in hidden.get("recovery", frozenset()):
            parts.append(f"the {GROUP_LABELS[group].lower()} group's recovery is not shown")
            continue
        lo, hi = rate.ci95 or (None, None)
        where = ("above" if lo is not None and lo > target else "below" if hi is not None and hi < target
                 else "not clearly different from")
        parts.append(f"the {GROUP_LABELS[group].lower()} group recovered at {fmt.percent(rate.rate)} "
                     f"({fmt.ci(rate.ci95, 'percent')}), {where} England's rate")
    return (f"England's recovery rate in {england.year} was {_pct(target)}; " + "; ".join(parts) + ".")


# --- funnel plot ----------------------------------------------------------------------------------------------


def funnel_chart(data: Funnel, pilot: Mapping[str, tuple[float | None, int]], highlight: str | None = None,
                 hidden: frozenset[str] = frozenset()) -> go.Figure:
    """Providers' recovery rate against finishers at caseness, with exact 95% and 99.8% limits around
    England's rate; the pilot's groups drawn as large markers (``pilot[group] = (rate, n)``)."""
    figure = go.Figure()
    limits = data.limits
    for tag, dash, name in (("998", "dot", "99.8% limits"), ("95", "dash", "95% limits")):
        for side, show in (("hi", True), ("lo", False)):
            figure.add_trace(go.Scatter(x=limits["n"], y=limits[f"{side}{tag}"] * 100, mode="lines",
                                        line=dict(color=REFERENCE_COLOUR, dash=dash, width=2), name=name,
                                        showlegend=show, legendgroup=tag, hoverinfo="skip"))
    providers = data.providers
    figure.add_trace(go.Scatter(
        x=providers["n"], y=providers["rate"] * 100, mode="markers", name=f"Providers ({len(providers)})",
        marker=dict(color=PROVIDER_COLOUR, size=8, line=dict(color="#777777", width=0.5)),
        text=[f"{code} {name}: {r * 100:.0f}% of {n:,.0f}" for code, name, r, n in
              zip(providers["org_code"], providers["org_name"], providers["rate"], providers["n"], strict=True)],
        hoverinfo="text"))
    if highlight is not None and highlight in set(providers["org_code"]):
        row = providers[providers["org_code"] == highlight].iloc[0]
        figure.add_trace(go.Scatter(x=[row["n"]], y=[row["rate"] * 100], mode="markers", name=str(row["org_name"]).title(),
                                    marker=dict(color=ORG_COLOUR, size=14, symbol="diamond",
                                                line=dict(color="#1a1a1a", width=1))))
    for group in GROUP_ORDER:
        rate, n = pilot.get(group, (None, 0))
        if rate is None or group in hidden or not n:
            continue
        figure.add_trace(go.Scatter(x=[n], y=[rate * 100], mode="markers+text", name=GROUP_LABELS[group],
                                    text=[GROUP_LABELS[group]], textposition="middle right",
                                    marker=dict(color=GROUP_COLOURS[group], size=18, symbol="star",
                                                line=dict(color="#1a1a1a", width=1))))
    top = max(float(limits["n"].max()) if len(limits) else 100.0, 100.0)
    figure.add_trace(go.Scatter(x=[5, top], y=[data.target * 100] * 2, mode="lines", name=f"England {_pct(data.target)}",
                                line=dict(color=ENGLAND_COLOUR, width=2)))
    ticks = [t for t in (5, 10, 30, 100, 300, 1000, 3000, 10000, 30000) if t <= top * 1.1]
    figure.update_layout(xaxis=dict(title="Finishers at caseness (log scale)", type="log", tickvals=ticks,
                                    ticktext=[f"{t:,}" for t in ticks]),
                         yaxis=dict(title="Recovered (%)", range=[0, 100], ticksuffix="%"))
    apply_theme(figure, f"Recovery funnel plot, providers in England {data.year}", height=600)
    figure.update_layout(legend=dict(orientation="v", x=1.02, y=1, yanchor="top", xanchor="left"))
    _source(figure, y=-0.16)
    figure.update_layout(margin=dict(r=230))
    return figure


def funnel_takeaway(data: Funnel, positions: Mapping[str, str | None], hidden: frozenset[str] = frozenset()) -> str:
    counts = data.providers["position"].value_counts()
    outside = int(sum(v for k, v in counts.items() if "99.8% limit" in str(k) and "within" not in str(k)))
    parts = [f"Of the {len(data.providers)} providers with a published rate, {outside} lie outside the 99.8% "
             f"limits around England's {_pct(data.target)} in {data.year}"]
    for group in GROUP_ORDER:
        if group in hidden:
            parts.append(f"the {GROUP_LABELS[group].lower()} group is not drawn (small numbers)")
        elif positions.get(group):
            parts.append(f"the {GROUP_LABELS[group].lower()} group is {positions[group]}")
    return "; ".join(parts) + ". With a pilot's few dozen people the limits are wide: only a large difference stands out."


# --- trend -------------------------------------------------------------------------------------------------------


TREND_DASH = {"recovery": "solid", "reliable_improvement": "dash", "reliable_recovery": "dot",
              "reliable_deterioration": "dashdot"}


def trend_chart(england: pd.DataFrame, org: pd.DataFrame | None = None, org_label: str | None = None) -> go.Figure:
    """The four published rates by year for England (black) and an organisation (green)."""
    figure = go.Figure()
    for frame, colour, who in ((england, ENGLAND_COLOUR, "England"), (org, ORG_COLOUR, org_label)):
        if frame is None or frame.empty:
            continue
        for key, rows in frame.groupby("rate", sort=False):
            figure.add_trace(go.Scatter(x=rows["year"], y=rows["value"] * 100, mode="lines+markers",
                                        name=RATE_LABELS[key], legendgroup=who, legendgrouptitle_text=_wrap(who),
                                        line=dict(color=colour, dash=TREND_DASH[key], width=3),
                                        hovertemplate="%{x}: %{y:.1f}%<extra>" + f"{who}, {RATE_LABELS[key].lower()}"
                                        + "</extra>"))
    figure.update_layout(yaxis=dict(title="Percent", range=[0, 100], ticksuffix="%"), xaxis=dict(title="Reporting year"))
    apply_theme(figure, "Published outcome rates by year", height=560)
    figure.update_layout(legend=dict(orientation="v", x=1.02, y=1, yanchor="top", xanchor="left", groupclick="toggleitem"),
                         margin=dict(r=260))
    _source(figure)
    return figure


def trend_takeaway(england: pd.DataFrame) -> str:
    recovery = england[england["rate"] == "recovery"].dropna(subset=["value"])
    if recovery.empty:
        return "No published recovery rates to show."
    first, last = recovery.iloc[0], recovery.iloc[-1]
    low, high = recovery["value"].min(), recovery["value"].max()
    return (f"England's recovery rate was {_pct(first['value'])} in {first['year']} and {_pct(last['value'])} in "
            f"{last['year']}, between {_pct(low)} and {_pct(high)} every year: close to the 50% standard throughout.")


# --- expected rates (indirect standardisation) --------------------------------------------------------------


def expected_chart(mixes: Mapping[str, CaseMix], rate: str = "recovery",
                   hidden: frozenset[str] = frozenset()) -> go.Figure:
    """Observed ÷ expected (exact Poisson 95% CI) per group, one row per breakdown; 1 = as expected."""
    figure = go.Figure()
    breakdowns = [mix.label for mix in mixes.values()]
    for offset, group in zip((-0.15, 0.15), GROUP_ORDER, strict=True):
        xs, ys, plus, minus, texts = [], [], [], [], []
        for i, mix in enumerate(mixes.values()):
            result = mix.results[rate][group]
            if result.ratio is None or group in hidden:
                continue
            xs.append(result.ratio)
            ys.append(i + offset)
            plus.append(result.ci95[1] - result.ratio)
            minus.append(result.ratio - result.ci95[0])
            texts.append(f"{GROUP_LABELS[group]}, {mix.label}: observed {fmt.percent(result.observed_rate)} vs "
                         f"expected {_pct(result.expected_rate)}; O/E {fmt.number(result.ratio, 2)} "
                         f"({fmt.ci(result.ci95, 'number', 2)})")
        figure.add_trace(go.Scatter(x=xs, y=ys, mode="markers", name=GROUP_LABELS[group], text=texts, hoverinfo="text",
                                    marker=dict(color=GROUP_COLOURS[group], size=14),
                                    error_x=dict(type="data", symmetric=False, array=plus, arrayminus=minus,
                                                 thickness=2.5, color=GROUP_COLOURS[group])))
    figure.add_vline(x=1, line=dict(color=REFERENCE_COLOUR, dash="dash", width=2))
    ticks = [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10]
    figure.update_layout(
        xaxis=dict(title=f"Observed ÷ expected {RATE_LABELS[rate].lower()} (95% CI); 1 = as England", type="log",
                   tickvals=ticks, ticktext=[fmt.number(t, 2).rstrip("0").rstrip(".") for t in ticks]),
        yaxis=dict(tickvals=list(range(len(breakdowns))), ticktext=[f"by {b.lower()}" for b in breakdowns],
                   autorange="reversed", automargin=True, zeroline=False))
    apply_theme(figure, f"{RATE_LABELS[rate]} against a case-mix expected rate", height=max(360, 100 * len(breakdowns) + 240))
    _source(figure, y=-0.2 if len(breakdowns) > 2 else -0.35)
    figure.update_layout(margin=dict(t=110, l=40))
    return figure


def expected_takeaway(mixes: Mapping[str, CaseMix], rate: str = "recovery", breakdown: str = "problem_descriptor",
                      hidden: frozenset[str] = frozenset()) -> str:
    if not mixes:
        return "The data have none of the columns NHS England breaks its figures down by, so no expected rate."
    key = breakdown if breakdown in mixes else next(iter(mixes))
    mix = mixes[key]
    parts = []
    for group in GROUP_ORDER:
        result = mix.results[rate][group]
        if group in hidden:
            parts.append(f"the {GROUP_LABELS[group].lower()} group's figures are hidden (small numbers)")
        elif result.expected is None:
            parts.append(f"the {GROUP_LABELS[group].lower()} group has no expected rate ({result.reason})")
        else:
            parts.append(f"the {GROUP_LABELS[group].lower()} group would be expected to reach "
                         f"{_pct(result.expected_rate)} and reached {fmt.percent(result.observed_rate)} "
                         f"(O/E {fmt.number(result.ratio, 2)}, {fmt.ci(result.ci95, 'number', 2)})")
    results = [mix.results[rate][g] for g in GROUP_ORDER]
    easier = ""
    if all(r.expected is not None for r in results) and not hidden:
        gap = (results[0].expected_rate - results[1].expected_rate) * 100
        observed_gap = (results[0].observed_rate - results[1].observed_rate) * 100
        easier = (f" By {mix.label.lower()}, the physical activity group's case mix predicts "
                  f"{abs(gap):.1f} points {'more' if gap > 0 else 'less'} {RATE_LABELS[rate].lower()} than control's, "
                  f"against an observed difference of {observed_gap:+.0f} points.")
    return f"If each did as well as people like them in England ({mix.label.lower()}, {mix.year}): " + \
        "; ".join(parts) + "." + easier


__all__ = ["add_attribution", "comparison_chart", "comparison_takeaway", "expected_chart", "expected_takeaway", "funnel_chart",
           "funnel_takeaway", "trend_chart", "trend_takeaway"]
