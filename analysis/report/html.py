"""The story as one self-contained, offline HTML file: interactive plotly charts, figures as text.

plotly.js is embedded once (inline, with the first chart); there is no ``<script src=...>``,
no external stylesheet and no web font, so the file opens on a laptop with no internet and can
be emailed as it is. Every piece of text from the data (the file name, filter values, category
labels) is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import date
from typing import Any, Final

import pandas as pd

from analysis.figures.theme import chart_config
from analysis.report.charts import slide_figure
from analysis.report.story import REPORT_TITLE, Slide, build_story
from analysis.summary import Analysis

STYLE: Final = """
:root { --pa: #0072B2; --control: #B97A00; --ink: #1a1a1a; --muted: #555; }
* { box-sizing: border-box; }
body { font-family: Arial, Helvetica, sans-serif; font-size: 19px; line-height: 1.45; color: var(--ink);
       max-width: 1180px; margin: 0 auto; padding: 24px 32px 64px; background: #fff; }
h1 { font-size: 40px; margin: 8px 0 4px; }
h2 { font-size: 32px; margin: 0 0 8px; }
nav ol { columns: 2; font-size: 18px; padding-left: 1.4em; }
nav a, a { color: var(--pa); }
section.slide { border-top: 8px solid var(--pa); padding: 20px 0 36px; margin-top: 28px; }
p.takeaway { font-size: 23px; font-weight: bold; color: var(--pa); margin: 4px 0 16px; }
.body { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 28px; align-items: start; }
.body.text-only { grid-template-columns: minmax(0, 1fr); }
ul.figures { margin: 0; padding-left: 1.2em; }
ul.figures li { margin-bottom: 10px; }
p.method { color: var(--muted); font-size: 16px; margin-top: 14px; }
.chart { min-height: 420px; }
footer { margin-top: 40px; color: var(--muted); font-size: 16px; border-top: 1px solid #ddd; padding-top: 12px; }
@media (max-width: 900px) { .body { grid-template-columns: minmax(0, 1fr); } nav ol { columns: 1; } }
@media print { section.slide { page-break-inside: avoid; } nav { display: none; } }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def html_from_slides(slides: list[Slide], analysis: Analysis, title: str = REPORT_TITLE) -> str:
    """The whole report as one HTML string (plotly.js inlined once, with the first chart)."""
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{_e(title)} — report</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
             f"<h1>{_e(title)}</h1>",
             "<p>An offline report: it needs no internet connection. Hover over a chart for its figures; the "
             "camera icon saves a chart as a PNG.</p>",
             '<nav aria-label="Contents"><ol>']
    parts += [f'<li><a href="#{_e(s.key)}">{_e(s.title)}</a></li>' for s in slides]
    parts.append("</ol></nav>")
    plotly_included = False
    for number, slide in enumerate(slides, start=1):
        parts.append(f'<section class="slide" id="{_e(slide.key)}" aria-labelledby="{_e(slide.key)}-title">')
        parts.append(f'<h2 id="{_e(slide.key)}-title">{number}. {_e(slide.title)}</h2>')
        parts.append(f'<p class="takeaway">{_e(slide.takeaway)}</p>')
        figure = slide_figure(slide, analysis)
        if figure is not None:
            figure.update_layout(title_text=None, margin=dict(t=50))  # the section heading names it
        parts.append(f'<div class="body{"" if figure is not None else " text-only"}">')
        if figure is not None:
            chart_html = figure.to_html(full_html=False, include_plotlyjs=not plotly_included,
                                        config=chart_config(f"{slide.key}-chart"), div_id=f"chart-{slide.key}")
            plotly_included = True
            parts.append(f'<div class="chart" role="img" aria-label="{_e(slide.takeaway)}">{chart_html}</div>')
        parts.append('<div class="text"><ul class="figures">')
        parts += [f"<li>{_e(bullet)}</li>" for bullet in slide.bullets]
        parts.append("</ul>")
        if slide.notes:
            parts.append(f'<p class="method">{_e(slide.notes)}</p>')
        parts.append("</div></div></section>")
    parts.append("<footer>Made with the Physical activity in NHS Talking Therapies dashboard. The same story is "
                 "available as a PowerPoint deck and in the dashboard's presentation mode.</footer>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts)


def build_html(analysis: Analysis, safe: bool = False, filters: Mapping[str, tuple[str, ...]] | None = None,
               source: str | None = None, excluded_rows: tuple[int, ...] = (), *,
               episodes: pd.DataFrame | None = None, synthetic: bool | None = None,
               generated: date | None = None, national_year: str | None = None,
               extra: Mapping[str, Any] | None = None) -> str:
    """The story (:func:`analysis.report.story.build_story`) as one self-contained HTML page."""
    slides = build_story(analysis, safe=safe, filters=filters, source=source, excluded_rows=excluded_rows,
                         episodes=episodes, synthetic=synthetic, generated=generated,
                         national_year=national_year, extra=extra)
    return html_from_slides(slides, analysis)


__all__ = ["build_html", "html_from_slides"]
