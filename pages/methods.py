import streamlit as st

st.title("methods")
st.info("This page is being built.")
