"""The load test's yardstick: the smallest Streamlit app with the dashboard's shape.

One sidebar filter (``f_gender`` in a "Filters" expander) and one headline (an h4 starting
"Recovery was") that changes with it; no data, no analysis, no charts. What 20 browsers cost
against this page is what Streamlit and the browsers cost on this machine before the dashboard
does any work of its own:

    python -m benchmarks.load --sessions 20 --baseline
    python -m benchmarks.load --protocol --visitors 50     # measures this page too, in the same run

The filter is bound to the URL (``?f_gender=Female``), as the dashboard's are.

``BASELINE_EXTRA_LINES=N`` (environment) adds N one-line Markdown paragraphs under the headline: still no
data and no analysis, only more elements (``python -m benchmarks.element_floor`` measures what they cost).
``BASELINE_SERVER_FIXES=1`` applies the dashboard's server work-arounds (``dashboard/server_fixes.py``), so
what they save on bare elements can be measured too (``--server-fixes``).
"""

import os
import sys
from pathlib import Path

import streamlit as st

if os.environ.get("BASELINE_SERVER_FIXES") == "1":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from dashboard import server_fixes

    server_fixes.apply()

with st.sidebar, st.expander("Filters", expanded=True):
    chosen = st.multiselect("gender", ["Female", "Male"], key="f_gender", bind="query-params")
st.markdown("#### Recovery was " + ("the same for " + " and ".join(chosen) if chosen else "the same in both groups"))
for line in range(int(os.environ.get("BASELINE_EXTRA_LINES", "0") or 0)):
    st.markdown(f"Line **{line + 1}**: one more element, with no data behind it.")
