"""Plotly figure builders: results in, ``go.Figure`` out (tested without a browser)."""
