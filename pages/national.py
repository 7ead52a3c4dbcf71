"""Against national figures: the pilot beside NHS England's published NHS Talking Therapies figures."""

from dashboard.entry import require_app

require_app()

import pandas as pd
import streamlit as st

from analysis import formatting as fmt
from analysis import national
from analysis.disclosure import safe_rate
from analysis.figures.national import (
    comparison_chart,
    comparison_takeaway,
    expected_chart,
    expected_takeaway,
    funnel_chart,
    funnel_takeaway,
    trend_chart,
    trend_takeaway,
)
from analysis.schema import GROUP_LABELS, GROUPS, RECOVERY_STANDARD
from dashboard import national as controls
from dashboard import state, ui

# The two expanders draw their tables only while open (ui.lazy_expander): closed, they cost a room's server nothing.
OUTSIDE_OPEN_KEY, MATCHING_OPEN_KEY = "national_open_outside", "national_open_matching"

ctx = state.context()
analysis = ctx.analysis
ui.page_header("Against national figures", ctx,
               "How the pilot's groups compare with what NHS Talking Therapies achieves across England, in a region, "
               "an ICB or a provider, from NHS England's published annual figures; and the recovery each group would "
               "be expected to reach given who was in it.")
st.caption(national.ATTRIBUTION)

year = controls.chosen_year()


def _hidden(rate: str) -> frozenset[str]:
    if not ctx.safe:
        return frozenset()
    groups = analysis.rates[rate].groups
    return frozenset(g for g in GROUPS if ui.rate_text(ctx, groups[g].count, groups[g].denominator,
                                                       groups[g].rate).startswith("hidden"))


hidden = {rate: _hidden(rate) for rate in national.RATE_LABELS}


def _published(rate: national.PublishedRate, rounded: bool) -> str:
    if rate.rate is None:
        return f"not available ({rate.reason})"
    counts = ("" if rate.count is None or rate.denominator is None else
              f" (published: {fmt.count(int(rate.count))} of {fmt.count(int(rate.denominator))}"
              f"{', rounded' if rounded else ''})")
    return f"{rate.rate * 100:.1f}%{counts}"


# --- the chosen organisation: the pilot beside it and England, the funnel and the trend. A fragment: choosing
# another organisation reruns only these sections, not the whole page (the sidebar's year stays outside).
ORGANISATION_SECTIONS = {  # the fragment's three sections, each beside the chosen organisation
    "Beside national": "The pilot beside national figures",
    "Funnel": "Where the pilot sits among providers",
    "Trend": "The trend since 2017-18",
}


def _heading(name: str, shown: tuple[str, ...]) -> None:
    """A section's heading in the whole-page layout (all three shown); a tab names it in the sections layout."""
    if len(shown) > 1:
        st.subheader(ORGANISATION_SECTIONS[name])


@st.fragment
def against_organisation(shown: tuple[str, ...]) -> None:
    """The organisation chooser and the ``shown`` sections (of :data:`ORGANISATION_SECTIONS`) beside it."""
    def organisation_choices() -> tuple[list[str], dict[str, str]]:  # published: the same for every visitor
        orgs = national.organisations(year)
        return orgs["org_code"].tolist(), {row.org_code: national.Organisation(row.org_type, row.org_code,
                                                                               row.org_name).label
                                           for row in orgs.itertuples()}

    options, labels = state.constant(("national-organisations", year), organisation_choices)
    if controls.ORG_KEY not in st.session_state:  # first visit, or back on this page: the URL, else the last choice
        st.session_state[controls.ORG_KEY] = controls.org_from_url(year, options)
    left, right = st.columns([3, 1])
    code = left.selectbox("Compare with", options, key=controls.ORG_KEY, format_func=lambda c: labels.get(c, c),
                          on_change=controls.org_to_url,
                          help="England, an NHS region, an ICB or a provider: type part of a name or an ODS code.")
    controls.org_to_url()
    right.metric("Reporting year", year, help="Change it with **National figures year** in the sidebar.")
    org = national.find_organisation(code, year)
    england = national.benchmark(national.ENGLAND_ORG, year)
    chosen = national.benchmark(org, year)

    # --- the pilot beside England and the organisation
    if "Beside national" in shown:
        _heading("Beside national", shown)
        pilot = {key: analysis.rates[key].groups for key in national.RATE_LABELS}

        def comparison_view():  # the pilot's rates (data, filters, safe mode) beside the year's and organisation's
            rows = []
            for key, label in national.RATE_LABELS.items():
                row = {"Rate": label}
                for g in GROUPS:
                    r = pilot[key][g]
                    row[GROUP_LABELS[g]] = (ui.rate_text(ctx, r.count, r.denominator, r.rate) + " of "
                                            + ui.count_text(ctx, r.denominator))
                row[f"England {year}"] = _published(england.rates[key], False)
                if org.org_type != national.ENGLAND:
                    row[f"{org.label} {year}"] = _published(chosen.rates[key], True)
                row["Denominator (national)"] = national.DENOMINATORS[key]
                rows.append(row)
            return (comparison_chart(pilot, england, chosen, hidden), comparison_takeaway(pilot, england, hidden),
                    pd.DataFrame(rows))

        figure, takeaway, table = state.session_memo(ctx, ("national-comparison", year, code, ctx.safe), comparison_view)
        ui.chart(figure, "pilot beside national figures", takeaway)
        ui.table(table, "pilot beside national figures table", source=national.ATTRIBUTION)
        st.caption("The pilot's rates follow this dashboard's definitions (recovery over finishers at caseness); NHS England "
                   "publishes recovery over finishers minus those not at caseness. " + national.ROUNDING_NOTE)
        if chosen.reason:
            ui.not_available(chosen.reason)

    # --- funnel plot
    if "Funnel" in shown:
        _heading("Funnel", shown)
        funnel = national.funnel(year)
        highlight = code if org.org_type == "Provider" else None

        def funnel_view():  # the pilot's two recovery rates among the year's providers
            positions, pilot_points = {}, {}
            for g in GROUPS:
                r = analysis.rates["recovery"].groups[g]
                pilot_points[g] = (r.rate, r.denominator)
                positions[g] = (national.funnel_position(r.rate, r.denominator, funnel.target)
                                if r.rate is not None and r.denominator else None)
            return (funnel_chart(funnel, pilot_points, highlight=highlight, hidden=hidden["recovery"]),
                    funnel_takeaway(funnel, positions, hidden["recovery"]))

        figure, takeaway = state.session_memo(ctx, ("national-funnel", year, highlight, ctx.safe), funnel_view)
        ui.chart(figure, "recovery funnel plot", takeaway)
        st.caption(funnel.method + f" {funnel.excluded} provider(s) with a suppressed rate or denominator are not drawn.")

        def outside_limits() -> pd.DataFrame:  # published figures only: the same for every visitor
            outside = funnel.providers[funnel.providers["position"].str.contains("99.8% limit") &
                                       ~funnel.providers["position"].str.contains("within")]
            return pd.DataFrame({
                "ODS code": outside["org_code"], "Provider": outside["org_name"].map(national.display_name),
                "Finishers at caseness (rounded)": outside["n"].astype(int),
                "Recovery (published)": (outside["rate"] * 100).round(0).astype(int).astype(str) + "%",
                "Position": outside["position"]})

        outside_box = ui.lazy_expander("Providers outside the 99.8% limits", OUTSIDE_OPEN_KEY)
        if outside_box:  # drawn only while open
            with outside_box:
                ui.table(state.constant(("national-outside", year), outside_limits),
                         f"providers outside funnel limits {year}", source=national.ATTRIBUTION)

    # --- trend
    if "Trend" in shown:
        _heading("Trend", shown)

        def trend_view():  # published figures only: the same for every visitor
            england_trend = national.trend(national.ENGLAND_ORG)
            org_trend = national.trend(org) if org.org_type != national.ENGLAND else None
            return (trend_chart(england_trend, org_trend, org.label if org_trend is not None else None),
                    trend_takeaway(england_trend), org_trend is not None)

        figure, takeaway, has_org_trend = state.constant(("national-trend", code, year), trend_view)
        ui.chart(figure, "national outcome rates by year", takeaway)
        if has_org_trend and org.org_type == "ICB":
            st.caption("ICBs were created in July 2022: their figures start in 2022-23.")


# --- the sections: one after another, or one at a time (the session's layout, dashboard/state.py)
section = ui.Sections("national", {
    **ORGANISATION_SECTIONS,
    "Expected rates": "Expected rates: was one group easier to treat?",
    "Structured Physical Activity": "National context: \"Structured Physical Activity\"",
})
if section.one_at_a_time:  # the chooser and the open one of the three
    for name in ORGANISATION_SECTIONS:
        if (box := section(name)) is not None:
            with box:
                against_organisation((name,))
else:
    against_organisation(tuple(ORGANISATION_SECTIONS))

# --- expected rates
if (box := section("Expected rates")) is not None:
    with box:
        st.markdown("Each participant is given the rate that people in their published category achieved in England "
                    f"in {year} (one breakdown at a time). The sum over a group is the number it would be expected to "
                    "recover if its people did as well as people like them nationally; observed ÷ expected (O/E) above 1 "
                    "means better than expected.")
        mixes = state.session_memo(ctx, ("national-expected", year),
                                   lambda: national.all_expected_rates(ctx.episodes, analysis.flags, year))


        # A fragment: choosing another rate reruns only the chart and tables below, not the whole page.
        @st.fragment
        def expected_rates() -> None:
            rate_key = st.radio("Rate", list(national.EXPECTED_RATES), format_func=lambda k: national.RATE_LABELS[k],
                                horizontal=True, key="nat_expected_rate")

            def _hidden_expected(mix: national.CaseMix) -> frozenset[str]:
                if not ctx.safe:
                    return frozenset()
                return frozenset(g for g in GROUPS if safe_rate(mix.results[rate_key][g].observed, mix.results[rate_key][g].n,
                                                                mix.results[rate_key][g].ratio) is None)

            def expected_view():  # the pilot's observed and expected rates (data, filters, safe mode) for this rate
                hidden_expected = frozenset().union(*(_hidden_expected(m) for m in mixes.values()))
                rows = []
                for mix in mixes.values():
                    for g in GROUPS:
                        r = mix.results[rate_key][g]
                        shown = g not in hidden_expected and r.expected is not None
                        # The data column in brackets, not a column of its own: its one long word ("problem_descriptor")
                        # made a nine-column table wider than the page at 1280 px.
                        rows.append({"Breakdown": f"{mix.label} ({mix.column})", "Group": GROUP_LABELS[g],
                                     "Matched": ui.count_text(ctx, r.n),
                                     "Unmatched": ui.count_text(ctx, r.unmatched) if r.unmatched else "0",
                                     "Observed": fmt.percent(r.observed_rate) if shown else "hidden" if r.expected else fmt.MISSING,
                                     "Expected": f"{r.expected_rate * 100:.1f}%" if shown else fmt.MISSING,
                                     "O/E (95% CI)": (f"{fmt.number(r.ratio, 2)} "
                                                      f"({fmt.ci(r.ci95, 'number', 2).removeprefix('95% CI ')})"
                                                      if shown else "hidden (small numbers)" if r.expected is not None
                                                      else r.reason)})
                return (expected_chart(mixes, rate_key, hidden_expected),
                        expected_takeaway(mixes, rate_key, hidden=hidden_expected), pd.DataFrame(rows))

            figure, takeaway, table = state.session_memo(ctx, ("national-expected-view", year, rate_key, ctx.safe),
                                                         expected_view)
            ui.chart(figure, f"expected {rate_key} by case mix", takeaway)
            ui.table(table, f"expected {rate_key} by case mix table", source=national.ATTRIBUTION)
            st.caption(next(iter(mixes.values())).method)
            def matching_rows() -> pd.DataFrame:
                rows = []
                for mix in mixes.values():
                    for c in mix.categories:
                        rows.append({"Breakdown": mix.label, "Pilot value": c.value,
                                     "Published category": ", ".join(c.published) if c.published else "unmatched",
                                     f"England {national.RATE_LABELS[rate_key].lower()}":
                                         (f"{c.national_rate[rate_key] * 100:.1f}%" if c.national_rate.get(rate_key) is not None
                                          else fmt.MISSING),
                                     **{GROUP_LABELS[g]: ui.count_text(ctx, c.n[g]) for g in GROUPS},
                                     "Why unmatched": c.reason or ""})
                return pd.DataFrame(rows)

            matching_box = ui.lazy_expander("How the pilot's values were matched to NHS England's categories", MATCHING_OPEN_KEY)
            if matching_box:  # drawn only while open
                with matching_box:
                    ui.table(state.session_memo(ctx, ("national-matching", year, rate_key, ctx.safe), matching_rows),
                             "case mix category matching", source=national.ATTRIBUTION)
                    st.caption("Participants whose value matches no published category are left out of both observed and "
                               "expected for that breakdown, and counted here; an age band that straddles two published bands "
                               "is not split. The finishers in each category are counted (the recovery denominator is those of "
                               "them at caseness).")


        if not mixes:
            ui.not_available("The data have none of the columns NHS England breaks its figures down by (problem "
                             "descriptor, age band, gender, ethnicity, long-term condition, deprivation decile), so no "
                             "expected rate can be worked out.")
        else:
            expected_rates()

# --- Structured Physical Activity
if (box := section("Structured Physical Activity")) is not None:
    with box:
        spa = national.structured_physical_activity()
        st.warning(national.SPA_CAVEAT, icon=":material/warning:")
        if spa.empty:
            ui.not_available("NHS England published no Structured Physical Activity figures in this extract.")
        else:
            def spa_table() -> pd.DataFrame:  # published figures only: the same for every visitor
                return pd.DataFrame({
                    "Year": spa["year"],
                    "Finishers with this therapy": spa["finishers"].map(lambda v: fmt.count(int(v)) if pd.notna(v) else fmt.MISSING),
                    "Courses counted in outcomes": spa["courses"].map(lambda v: fmt.count(int(v)) if pd.notna(v) else fmt.MISSING),
                    "Recovery": spa["recovery"].map(lambda v: f"{v * 100:.1f}%" if pd.notna(v) else fmt.MISSING),
                    "Reliable improvement": spa["reliable_improvement"].map(
                        lambda v: f"{v * 100:.1f}%" if pd.notna(v) else fmt.MISSING),
                    "PHQ-9 mean, start → end": [f"{fmt.number(a)} → {fmt.number(b)}"
                                                for a, b in zip(spa["phq9_start"], spa["phq9_end"], strict=True)],
                    "Small numbers": spa["small"].map({True: f"yes (under {national.SMALL_NUMBERS} courses)", False: "no"}),
                })

            ui.table(state.constant(("national-spa",), spa_table), "structured physical activity national figures",
                     source=national.ATTRIBUTION)
            latest = spa.iloc[-1]
            st.markdown(f"**Takeaway:** in {latest['year']}, NHS England counted {fmt.count(int(latest['courses']))} courses of "
                        f"Structured Physical Activity in its outcomes, with recovery {latest['recovery'] * 100:.1f}% — too few "
                        "to compare with, and not the same intervention as the pilot's.")

st.divider()
st.caption(f"England's published recovery rate sits close to the national standard of {fmt.percent(RECOVERY_STANDARD)}; "
           "the standard is a target, the rate is what was achieved. " + national.ROUNDING_NOTE)
st.caption(national.ATTRIBUTION)
