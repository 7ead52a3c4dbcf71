import streamlit as st

st.title("survey")
st.info("This page is being built.")
