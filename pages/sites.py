"""Sites: does it work, does it work everywhere, and which sites are outliers? Each site's comparison and
the random-effects pooled effect with its heterogeneity (issue 16)."""

from dashboard.entry import require_app

require_app()

import streamlit as st

from analysis import formatting as fmt
from analysis.adjusted import make_site_adjusted_safe, site_adjusted_block, site_adjusted_table
from analysis.figures import sites as fs
from analysis.schema import SITE_COLUMN, SITE_MIN_PER_GROUP
from analysis.sites import heterogeneity_sentence, method_lines
from dashboard import state, ui

ctx = state.context()
analysis = ctx.analysis
sites = analysis.sites
ui.page_header("Sites", ctx, "When a programme pools several sites, three questions follow: does physical activity "
               "help overall, does it help **everywhere**, and which sites stand out? Each site is compared on its "
               "own, then the sites are combined by a random-effects meta-analysis.")

if sites is None:
    ui.not_available(f"These data have no `{SITE_COLUMN}` column, so they are one pilot. To compare sites, add a "
                     f"`{SITE_COLUMN}` column (the service or clinic each participant was seen at), or map one on "
                     "the **Data** page; or choose the **Programme** sample in the sidebar (six invented sites).")
    st.stop()
if sites.n_sites < 2:
    only = sites.sites[0] if sites.sites else ""
    ui.not_available("Only one site is in these data" + (" with the current filters" if ctx.filters else "")
                     + ": there is nothing to compare across sites. Every other page shows this site's figures.")
    if only:
        st.text(f"Site: {only}")  # a site name is user text: shown literally
    st.stop()

outcomes = sites.outcomes


# --- one outcome at a time: headline figures, forest plot, sites left out and each site's row. A fragment:
# choosing another outcome reruns only this part, not the whole page (the sidebar's filters stay outside).
@st.fragment
def one_outcome() -> None:
    choice = st.selectbox("Outcome", list(outcomes), key="sites_outcome", bind="query-params",
                          format_func=lambda key: outcomes[key].label,
                          help="The four NHS Talking Therapies rates (difference in rates) and each symptom measure "
                               "(ANCOVA: difference in last score adjusted for the first).")
    outcome = outcomes[choice]
    pooled = outcome.pooled

    # --- headline figures
    unit = "percentage points" if outcome.kind == "rate" else "points"
    scale = 100 if outcome.kind == "rate" else 1
    decimals = 0 if outcome.kind == "rate" else 1
    columns = st.columns(4)
    columns[0].metric("Sites pooled", f"{pooled.k} of {sites.n_sites}")
    columns[1].metric("Pooled difference",
                      fmt.number(pooled.estimate * scale, decimals) if pooled.estimate is not None else "not available",
                      help=f"PA − control, in {unit}; random-effects pooled estimate.")
    columns[2].metric("I² (between sites)", fmt.percent(pooled.i2),
                      help="The share of the variation in the sites' estimates that is real difference between "
                           "sites rather than chance. Cochrane Handbook: 0–40% might not be important, 30–60% "
                           "moderate, 50–90% substantial, 75–100% considerable.")
    columns[3].metric("Heterogeneity Q", fmt.number(pooled.q) if pooled.q is not None else "not available",
                      help=f"Cochran's Q on {max(pooled.k - 1, 0)} df ({fmt.p_value(pooled.q_p)}); τ² = "
                      + (fmt.number(pooled.tau2 * scale ** 2, 3) if pooled.tau2 is not None else "—")
                      + f" ({unit} squared), Paule–Mandel.")
    if pooled.estimate is not None:
        st.caption(f"Pooled difference, PA − control, in {unit}: "
                   f"{fmt.number(pooled.estimate * scale, decimals)} "
                   f"({fmt.ci(pooled.ci95, 'points' if outcome.kind == 'rate' else 'number', decimals)}, "
                   f"{fmt.p_value(pooled.p)}); {pooled.interval}.")
    st.markdown(ui.md_escape(heterogeneity_sentence(outcome)))

    # --- forest plot
    figure, takeaway = state.session_memo(ctx, ("sites", "forest", choice, ctx.safe), lambda: (
        fs.forest_plot(outcome, ctx.safe), fs.forest_takeaway(outcome, ctx.safe)))
    ui.chart(figure, f"sites-{choice}", ui.md_escape(takeaway))

    # --- sites left out
    left_out = fs.excluded_lines(sites, outcome, ctx.safe)
    if left_out:
        st.subheader("Sites left out of the pooling")
        st.caption(f"A site is pooled when it has at least {SITE_MIN_PER_GROUP} people in each group for this "
                   "outcome. Its participants still count in every other figure.")
        st.text("\n".join(left_out))  # site names are user text: shown literally

    # --- tables
    st.subheader("Each site")
    ui.table(state.session_memo(ctx, ("sites", "table", choice, ctx.safe), lambda: fs.site_table(outcome, ctx.safe)),
             f"sites-{choice}")


one_outcome()

st.subheader("Every outcome, pooled across sites")
ui.table(state.session_memo(ctx, ("sites", "pooled"), lambda: fs.pooled_table(sites)), "sites-pooled")
st.subheader("People per site")
ui.table(state.session_memo(ctx, ("sites", "participants", ctx.safe), lambda: fs.participants_table(sites, ctx.safe)),
         "sites-participants")

# --- the adjusted analysis, accounting for site (analysis/adjusted.py)
st.subheader("Adjusted for site and baseline characteristics")
site_adjusted = state.session_memo(ctx, ("sites", "adjusted", ctx.safe), lambda: (
    (make_site_adjusted_safe if ctx.safe else dict)(site_adjusted_block(analysis.adjusted_blocks["adjusted"]))))
if site_adjusted.get("adjusted_for_site"):
    st.caption("The pooled comparison again, by the adjusted analysis with site as a covariate (people compared with "
               f"people of the same site, and weighted for the default baseline characteristics; "
               f"{site_adjusted.get('estimand')} weights). Choices, balance and E-values: **Accounting for who took "
               "part**.")
    ui.table(state.session_memo(ctx, ("sites", "adjusted-table", ctx.safe), lambda: site_adjusted_table(site_adjusted)),
             "sites-adjusted-for-site")
else:
    ui.not_available(str(site_adjusted.get("reason")))
st.page_link("pages/adjusted.py", label="Accounting for who took part", icon=":material/balance:")

with st.expander("Method", expanded=False):
    st.markdown("\n".join(f"- {line}" for line in method_lines()))
