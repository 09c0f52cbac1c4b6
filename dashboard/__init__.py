"""The zone dashboard: a Streamlit app that shows one zone's published mart to its managers."""
