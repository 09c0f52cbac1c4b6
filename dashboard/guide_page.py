"""The guide page: the French guide for zone managers, dashboard/guide_fr.md."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.frame import current_language
from dashboard.translations import translate

GUIDE_PATH = Path(__file__).with_name("guide_fr.md")


def render(language: str) -> None:
    note = translate("guide_in_french", language)
    if note:
        st.info(note)
    st.markdown(GUIDE_PATH.read_text(encoding="utf-8"))


if __name__ == "__main__":
    render(current_language())
