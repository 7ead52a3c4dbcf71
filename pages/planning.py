import streamlit as st

st.title("planning")
st.info("This page is being built.")
