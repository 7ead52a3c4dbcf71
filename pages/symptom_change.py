import streamlit as st

st.title("symptom_change")
st.info("This page is being built.")
