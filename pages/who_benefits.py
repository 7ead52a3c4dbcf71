import streamlit as st

st.title("who_benefits")
st.info("This page is being built.")
