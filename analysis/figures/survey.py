"""Plotly figures for the survey findings: data in, ``go.Figure`` out.

Each builder has a companion ``*_takeaway`` giving the chart's point in one
sentence, for alt text and for slides. Figures use the project theme
(:func:`analysis.figures.theme.apply_theme`: Okabe–Ito palette, projector-sized
type; survey bars are one series, in the theme's blue), every bar's hover names its source
section, and the base (who was asked) is stated on the chart.

Data come from :mod:`analysis.survey` (transcribed from the December 2022
findings and recommendations report and its summary). A bar is drawn only for a
figure the text gives; ranked lists without counts are drawn as ranks and say so.
"""

from __future__ import annotations

import textwrap
from typing import Final

import pandas as pd
import plotly.graph_objects as go

from analysis.figures.theme import FONT_SIZE, OKABE_ITO, apply_theme

# Survey bars are not a trial group, so they never use a group's colour (PA blue, control orange).
SURVEY_BAR_COLOUR: Final = OKABE_ITO["bluish_green"]
TITLE_SIZE: Final = FONT_SIZE + 4
LABEL_WIDTH: Final = 38  # characters per line in axis labels
NO_COUNTS_NOTE: Final = "Order as in the report's chart; the report gives no counts, so bar length shows rank only."


def _wrap(text: str, width: int = LABEL_WIDTH) -> str:
    return "<br>".join(textwrap.wrap(str(text), width=width)) or str(text)


def _label(row: pd.Series) -> str:
    label = str(row.get("label", "") or "").strip()
    return label or str(row.get("statement", ""))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _number(value: float) -> str:
    return f"{value:g}"


def base_text(df: pd.DataFrame) -> str:
    """'Base: 224 IAPT staff survey respondents ...' for one base, or 'Bases differ ...' for several."""
    if df.empty:
        return ""
    pairs = []
    for n, description in zip(df["base_n"], df["base_description"], strict=True):
        number = "" if pd.isna(n) else f"{int(n)} "
        text = f"{number}{description}".strip()
        if text and text not in pairs:
            pairs.append(text)
    if not pairs:
        return "Base not stated in the report"
    if len(pairs) == 1:
        return f"Base: {pairs[0]}"
    return "Bases differ: shown on each bar"


def _source(row: pd.Series) -> str:
    """The row's source: the merged ``source`` column when present, else its section."""
    if "source" in row.index and str(row["source"]):
        return str(row["source"])
    return str(row["source_section"])


def _layout(fig: go.Figure, title: str, subtitle: str, n_bars: int) -> go.Figure:
    apply_theme(fig, height=max(320, 150 + 62 * n_bars))
    fig.update_layout(
        title={"text": f"{title}<br><sup>{subtitle}</sup>" if subtitle else title,
               "font": {"size": TITLE_SIZE}, "x": 0, "xanchor": "left"},
        font={"size": FONT_SIZE},
        hoverlabel={"font": {"size": FONT_SIZE}},
        showlegend=False,
        bargap=0.25,
        margin={"l": 10, "r": 40, "t": 110, "b": 40},
    )
    fig.update_yaxes(autorange="reversed", automargin=True, tickfont={"size": FONT_SIZE})
    return fig


def _empty(title: str, message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font={"size": FONT_SIZE}, x=0.5, y=0.5,
                       xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title, "", 1)


# --- ranked barriers -------------------------------------------------------------------


def _ranked(df: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Rows in display order (first = top) and whether bars show values (else ranks)."""
    has_values = bool(len(df)) and df["value"].notna().all()
    if df["rank"].notna().all() and len(df):
        ordered = df.sort_values("rank", kind="stable")
    elif has_values:
        ordered = df.sort_values("value", ascending=False, kind="stable")
    else:
        ordered = df
    return ordered.reset_index(drop=True), has_values


def barriers_chart(df: pd.DataFrame, title: str = "Barriers, most mentioned first") -> go.Figure:
    """Horizontal ranked bars, the most mentioned on top, values as text labels.

    ``df`` holds findings rows (e.g. :func:`analysis.survey.ranked_barriers` or the
    ``conditions`` counts). With values, bars show them; with only ranks (the staff
    barriers chart gives no counts) bars show rank and the subtitle says so.
    """
    rows = df.loc[df["value"].notna() | df["rank"].notna()]
    if rows.empty:
        return _empty(title, "No ranked or counted findings in this selection.")
    ordered, has_values = _ranked(rows)
    labels = [_label(r) for _, r in ordered.iterrows()]
    if has_values:
        x = [float(v) for v in ordered["value"]]
        text = [str(t) if str(t) else _number(v) for t, v in zip(ordered["value_text"], x, strict=True)]
        subtitle = base_text(ordered)
    else:
        n = len(ordered)
        ranks = [int(r) if pd.notna(r) else i + 1 for i, r in enumerate(ordered["rank"])]
        x = [n - r + 1 for r in ranks]
        text = ["Most mentioned" if r == 1 else (f"Least mentioned ({_ordinal(r)})" if r == n
                else f"{_ordinal(r)} most mentioned") for r in ranks]
        subtitle = f"{base_text(ordered)}. {NO_COUNTS_NOTE}"
    customdata = [[str(r["statement"]), _source(r), str(r["finding_id"])]
                  for _, r in ordered.iterrows()]
    fig = go.Figure(go.Bar(
        x=x, y=labels, orientation="h", marker={"color": SURVEY_BAR_COLOUR},
        text=text, textposition="outside", cliponaxis=False, textfont={"size": FONT_SIZE},
        customdata=customdata,
        hovertemplate="<b>%{y}</b><br>%{customdata[0]}<br>Source: %{customdata[1]} (%{customdata[2]})"
                      "<extra></extra>",
    ))
    _layout(fig, title, _wrap(subtitle, 110), len(labels))
    fig.update_yaxes(tickmode="array", tickvals=labels, ticktext=[_wrap(label) for label in labels])
    if has_values:
        fig.update_xaxes(title={"text": str(ordered["unit"].iloc[0]).replace("_", " ")},
                         range=[0, max(x) * 1.25])
    else:
        fig.update_xaxes(visible=False, range=[0, len(labels) * 1.45])
    return fig


def barriers_takeaway(df: pd.DataFrame) -> str:
    """One sentence naming the most mentioned barrier(s) and the base."""
    rows = df.loc[df["value"].notna() | df["rank"].notna()]
    if rows.empty:
        return "No ranked or counted barriers in this selection."
    ordered, has_values = _ranked(rows)
    first = _label(ordered.iloc[0])
    base = base_text(ordered)
    if has_values:
        top = ordered.iloc[0]
        figure = str(top["value_text"]) or _number(float(top["value"]))
        unit = str(top["unit"]).replace("_", " ")
        return f"“{first}” was mentioned most ({figure} {unit}). {base}."
    if len(ordered) > 1:
        second = _label(ordered.iloc[1])
        return (f"“{first}” was the most mentioned barrier, followed by “{second}” "
                f"(order from the report's chart, which gives no counts). {base}.")
    return f"“{first}” was the most mentioned barrier (the report gives no counts). {base}."


# --- agreement / percentages per statement ------------------------------------------------


def _percent_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows drawable as percentages: percent values, or 'N of M' counts with a base."""
    percent = df["unit"].eq("percent") & df["value"].notna()
    of_base = df["unit"].eq("count") & df["value"].notna() & df["base_n"].notna()
    return df.loc[percent | of_base].reset_index(drop=True)


def _bar_text(row: pd.Series) -> str:
    value_text = str(row["value_text"]) or _number(float(row["value"]))
    if row["unit"] == "count":
        return value_text if " of " in value_text else f"{value_text} of {int(row['base_n'])}"
    if pd.notna(row["base_n"]):
        return f"{value_text} of {int(row['base_n'])}"
    return value_text


def _percent(row: pd.Series) -> float:
    if row["unit"] == "count":
        return 100.0 * float(row["value"]) / float(row["base_n"])
    return float(row["value"])


def agreement_chart(df: pd.DataFrame, title: str = "What respondents said") -> go.Figure:
    """Bars of the percentage per statement, in ``df`` order (first on top), base on each bar.

    'N of M' counts (e.g. 12 of 13 commissioners) are drawn at N/M × 100 and
    labelled as written. Rows without a stated figure are left out.
    """
    rows = _percent_rows(df)
    if rows.empty:
        return _empty(title, "No percentages stated in the report for this selection.")
    labels = [_label(r) for _, r in rows.iterrows()]
    x = [_percent(r) for _, r in rows.iterrows()]
    text = [_bar_text(r) for _, r in rows.iterrows()]
    customdata = [[str(r["statement"]), str(r["base_description"]), _source(r),
                   str(r["finding_id"])] for _, r in rows.iterrows()]
    fig = go.Figure(go.Bar(
        x=x, y=labels, orientation="h", marker={"color": SURVEY_BAR_COLOUR},
        text=text, textposition="outside", cliponaxis=False, textfont={"size": FONT_SIZE},
        customdata=customdata,
        hovertemplate="<b>%{y}</b><br>%{customdata[0]}<br>Base: %{customdata[1]}"
                      "<br>Source: %{customdata[2]} (%{customdata[3]})<extra></extra>",
    ))
    _layout(fig, title, _wrap(base_text(rows), 110), len(labels))
    fig.update_yaxes(tickmode="array", tickvals=labels, ticktext=[_wrap(label) for label in labels])
    ticks = [0, 25, 50, 75, 100]
    fig.update_xaxes(range=[0, 125], tickmode="array", tickvals=ticks, ticktext=[f"{t}%" for t in ticks],
                     ticksuffix="%", title={"text": "Per cent"})
    return fig


def agreement_takeaway(df: pd.DataFrame) -> str:
    """One sentence giving the highest and lowest figure among the statements."""
    rows = _percent_rows(df)
    if rows.empty:
        return "The report states no percentages for this selection."
    shares = rows.assign(_pct=[_percent(r) for _, r in rows.iterrows()])
    high = shares.loc[shares["_pct"].idxmax()]
    low = shares.loc[shares["_pct"].idxmin()]
    if high.name == low.name:
        return f"{_label(high)}: {_bar_text(high)}."
    return (f"Figures range from {_bar_text(high)} ({_label(high)}) "
            f"to {_bar_text(low)} ({_label(low)}).")
