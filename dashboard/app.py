"""The zone dashboard, for the managers of one zone.

Start it with ``zone-marts dashboard --zone CODE``, or ``streamlit run dashboard/app.py --
--zone CODE``; without the argument the zone comes from ZONE_MARTS_DASHBOARD_ZONE. The zone is
fixed for the life of the server: no widget switches it, and in production the server reads the
mart with the zone's own database login.
"""

from __future__ import annotations

import streamlit as st

from dashboard.frame import choose_language, current_zone
from dashboard.translations import translate


def main() -> None:
    st.set_page_config(page_title="Zone marts", layout="wide")
    zone = current_zone()
    language = choose_language()
    st.title(translate("app_title", language, zone=zone.name))
    st.caption(
        translate(
            "zone_caption",
            language,
            zone=zone.code,
            time_zone=zone.time_zone,
            currency=zone.currency,
        )
    )
    # Each page is a script next to this one; url_path keeps the French addresses stable
    # whatever the language of the titles.
    pages = [
        st.Page(
            "overview_page.py",
            title=translate("page_overview", language),
            url_path="synthese",
            default=True,
        ),
        st.Page(
            "operations_page.py", title=translate("page_operations", language), url_path="activite"
        ),
        st.Page("details_page.py", title=translate("page_details", language), url_path="detail"),
        st.Page("guide_page.py", title=translate("page_guide", language), url_path="guide"),
    ]
    page = st.navigation(pages)
    st.sidebar.page_link(pages[-1], label=translate("open_guide", language))
    page.run()


main()
