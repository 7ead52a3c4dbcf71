import streamlit as st

st.title("recovery")
st.info("This page is being built.")
