"""Streamlit-only helpers the pages share: state, sidebar controls, display helpers.

The only place besides ``pages/`` and ``app.py`` that imports streamlit. No number is
computed here: every figure comes from :mod:`analysis`.
"""
