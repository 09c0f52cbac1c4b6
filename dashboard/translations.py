"""Every string the dashboard shows, in French (the default) and English, and number formats."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LANGUAGES = {"fr": "Français", "en": "English"}
DEFAULT_LANGUAGE = "fr"

TEXTS: dict[str, dict[str, str]] = {
    # Frame, navigation and banner
    "app_title": {"fr": "Tableau de bord — {zone}", "en": "Dashboard — {zone}"},
    "language": {"fr": "Langue", "en": "Language"},
    "zone_caption": {
        "fr": "Zone {zone} · heure locale {time_zone} · montants en {currency}",
        "en": "Zone {zone} · local time {time_zone} · amounts in {currency}",
    },
    "page_overview": {"fr": "Synthèse", "en": "Overview"},
    "page_operations": {"fr": "Activité", "en": "Operations"},
    "page_details": {"fr": "Détail et export", "en": "Details and export"},
    "page_guide": {"fr": "Guide", "en": "Guide"},
    "validated_at": {
        "fr": "Données validées le {day} à {time} (heure locale, {time_zone})",
        "en": "Data validated on {day} at {time} (local time, {time_zone})",
    },
    "status_fresh": {"fr": "à jour", "en": "up to date"},
    "status_late": {
        "fr": "en retard : aucune publication validée pour l'échéance du {deadline}",
        "en": "late: no validated publish for the {deadline} deadline",
    },
    "status_stale": {
        "fr": "en retard : aucune publication validée depuis plus de {interval}",
        "en": "late: no validated publish for more than {interval}",
    },
    "checks_passed": {"fr": "{count} contrôles réussis", "en": "{count} checks passed"},
    "mart_unreadable": {
        "fr": "Les données de la zone {zone} ne peuvent pas être affichées ({where}) : {reason}. "
        "Signalez-le à l'équipe données.",
        "en": "The data of zone {zone} cannot be shown ({where}): {reason}. Report it to the "
        "data team.",
    },
    "mart_missing": {
        "fr": "Les données de la zone {zone} ne sont pas encore publiées ({where}). Elles "
        "apparaîtront ici après la première publication validée.",
        "en": "The data of zone {zone} is not published yet ({where}). It will appear here "
        "after the first validated publish.",
    },
    "log_empty": {
        "fr": "Le journal de publication est vide : la date de validation de ces données est "
        "inconnue.",
        "en": "The publish log is empty: when this data was validated is unknown.",
    },
    "no_kpis": {
        "fr": "Aucun indicateur quotidien dans les données publiées.",
        "en": "No daily indicator in the published data.",
    },
    "zone_missing": {
        "fr": "Aucune zone indiquée : lancez `zone-marts dashboard --zone CODE`.",
        "en": "No zone given: start it with `zone-marts dashboard --zone CODE`.",
    },
    "zone_unknown": {
        "fr": "Zone inconnue {zone!r} : choisissez parmi {known} (marts/zones.yml).",
        "en": "Unknown zone {zone!r}: choose one of {known} (marts/zones.yml).",
    },
    "open_guide": {"fr": "Comment lire ce tableau de bord", "en": "How to read this dashboard"},
    # KPI tiles and trends
    "kpis_as_of": {
        "fr": "Indicateurs au {day}, sur les {days} derniers jours",
        "en": "Indicators as of {day}, over the last {days} days",
    },
    "tile_revenue": {"fr": "Chiffre d'affaires", "en": "Revenue"},
    "tile_on_time": {"fr": "Livraisons à l'heure", "en": "On-time deliveries"},
    "tile_overdue": {"fr": "Créances échues", "en": "Overdue receivables"},
    "tile_late_work_orders": {"fr": "Ordres de fabrication en retard", "en": "Late work orders"},
    "tile_stock_outs": {"fr": "Ruptures de stock", "en": "Stock-outs"},
    "tile_below_reorder": {
        "fr": "Positions sous le point de commande",
        "en": "Positions below reorder point",
    },
    "vs_target": {"fr": "{delta} vs objectif {target}", "en": "{delta} vs target {target}"},
    "vs_week_before": {"fr": "{delta} en 7 jours", "en": "{delta} in 7 days"},
    "no_delivery": {"fr": "aucune livraison", "en": "no delivery"},
    "trends": {"fr": "Tendances sur {weeks} semaines", "en": "Trends over {weeks} weeks"},
    "week": {"fr": "Semaine", "en": "Week"},
    "revenue": {"fr": "Chiffre d'affaires", "en": "Revenue"},
    "revenue_target": {"fr": "Objectif", "en": "Target"},
    "on_time_rate": {"fr": "Taux à l'heure", "en": "On-time rate"},
    "on_time_rate_target": {"fr": "Objectif", "en": "Target"},
    "overdue_receivables": {"fr": "Créances échues", "en": "Overdue receivables"},
    "late_work_orders": {"fr": "OF en retard", "en": "Late work orders"},
    # Operations page
    "logistics": {"fr": "Logistique", "en": "Logistics"},
    "late_by_carrier": {
        "fr": "Livraisons en retard par transporteur (depuis le {day})",
        "en": "Late deliveries by carrier (since {day})",
    },
    "shipments": {"fr": "Expéditions", "en": "Shipments"},
    "delivered_late": {"fr": "Livrées en retard", "en": "Delivered late"},
    "overdue_in_transit": {
        "fr": "Non livrées, promesse dépassée",
        "en": "Undelivered, past promise",
    },
    "overdue_shipments": {
        "fr": "Expéditions non livrées après la date promise",
        "en": "Shipments undelivered after the promised date",
    },
    "carrier_ranking": {
        "fr": "Classement des transporteurs (taux à l'heure depuis le {day})",
        "en": "Carrier ranking (on-time rate since {day})",
    },
    "carrier_company_on_time_rate": {
        "fr": "Taux du transporteur, toutes zones",
        "en": "Carrier rate, all zones",
    },
    "production": {"fr": "Production", "en": "Production"},
    "status_planned": {"fr": "planifié", "en": "planned"},
    "status_in_progress": {"fr": "en cours", "en": "in progress"},
    "open_work_orders": {
        "fr": "{count} ordres ouverts, dont {late} en retard",
        "en": "{count} open work orders, {late} of them late",
    },
    "stock": {"fr": "Stocks sous le point de commande", "en": "Stock below reorder point"},
    "finance": {"fr": "Factures échues par ancienneté", "en": "Overdue invoices by age"},
    "outstanding": {"fr": "Reste dû", "en": "Outstanding"},
    "invoices": {"fr": "Factures", "en": "Invoices"},
    "ageing_bucket": {"fr": "Ancienneté", "en": "Age"},
    "bucket_not_due": {"fr": "non échues", "en": "not due"},
    "bucket_days": {"fr": "{bucket} jours", "en": "{bucket} days"},
    "nothing": {"fr": "Rien à signaler.", "en": "Nothing to report."},
    # Details page
    "dataset": {"fr": "Données", "en": "Data"},
    "filter_customer": {"fr": "Client", "en": "Customer"},
    "filter_product": {"fr": "Produit", "en": "Product"},
    "filter_segment": {"fr": "Segment", "en": "Segment"},
    "filter_carrier": {"fr": "Transporteur", "en": "Carrier"},
    "period": {"fr": "Période", "en": "Period"},
    "rows_found": {"fr": "{count} lignes", "en": "{count} rows"},
    "rows_shown": {
        "fr": "{count} lignes ; les {shown} premières sont affichées, l'export les contient "
        "toutes.",
        "en": "{count} rows; the first {shown} are shown, the export contains all of them.",
    },
    "rows_truncated": {
        "fr": "Plus de {limit} lignes : affinez les filtres, l'export s'arrête à {limit}.",
        "en": "More than {limit} rows: narrow the filters, the export stops at {limit}.",
    },
    "export_csv": {"fr": "Exporter en CSV", "en": "Export as CSV"},
    "table_fct_order_lines": {"fr": "Lignes de commande", "en": "Order lines"},
    "table_fct_shipments": {"fr": "Expéditions", "en": "Shipments"},
    "table_fct_work_orders": {"fr": "Ordres de fabrication", "en": "Work orders"},
    "table_fct_stock_positions": {"fr": "Positions de stock", "en": "Stock positions"},
    "table_fct_invoices": {"fr": "Factures", "en": "Invoices"},
    "table_fct_payments": {"fr": "Paiements", "en": "Payments"},
    # Guide page
    "guide_in_french": {
        "fr": "",
        "en": "The zone managers' guide is written in French.",
    },
    # Column headers of the tables on the operations page
    "carrier_name": {"fr": "Transporteur", "en": "Carrier"},
    "customer_name": {"fr": "Client", "en": "Customer"},
    "shipment_id": {"fr": "Expédition", "en": "Shipment"},
    "order_id": {"fr": "Commande", "en": "Order"},
    "promised_local_date": {"fr": "Livraison promise", "en": "Promised delivery"},
    "shipped_at_local": {"fr": "Expédiée le", "en": "Shipped at"},
    "delivered_shipments": {"fr": "Livraisons", "en": "Deliveries"},
    "work_order_id": {"fr": "OF", "en": "Work order"},
    "product_name": {"fr": "Produit", "en": "Product"},
    "work_order_status": {"fr": "Statut", "en": "Status"},
    "planned_quantity": {"fr": "Quantité prévue", "en": "Planned quantity"},
    "produced_quantity": {"fr": "Quantité produite", "en": "Produced quantity"},
    "progress_pct": {"fr": "Avancement (%)", "en": "Progress (%)"},
    "planned_end_date": {"fr": "Fin prévue", "en": "Planned end"},
    "expected_completion_date": {"fr": "Fin estimée", "en": "Expected end"},
    "is_late": {"fr": "En retard", "en": "Late"},
    "site_name": {"fr": "Site", "en": "Site"},
    "sku": {"fr": "Référence", "en": "SKU"},
    "available_quantity": {"fr": "Disponible", "en": "Available"},
    "reorder_point": {"fr": "Point de commande", "en": "Reorder point"},
    "days_of_cover": {"fr": "Jours de couverture", "en": "Days of cover"},
    "is_stock_out": {"fr": "Rupture", "en": "Stock-out"},
}


def translate(key: str, language: str, **values: object) -> str:
    """Return the text ``key`` in ``language`` with ``values`` filled in."""
    text = TEXTS[key][language]
    return text.format(**values) if values else text


def format_number(value: float, language: str, decimals: int = 0) -> str:
    text = f"{value:,.{decimals}f}"
    if language == "fr":
        # French groups thousands with a narrow no-break space and uses a decimal comma.
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def format_amount(value: float, currency: str, language: str) -> str:
    return f"{format_number(value, language)} {currency}"


def format_rate(value: float, language: str) -> str:
    """Format a 0-1 rate as a percentage with one decimal."""
    number = format_number(value * 100, language, decimals=1)
    return f"{number} %" if language == "fr" else f"{number}%"


def format_points(value: float, language: str) -> str:
    """Format the difference of two 0-1 rates in percentage points."""
    return f"{format_number(value * 100, language, decimals=1)} pts"


def format_day(day: date, language: str) -> str:
    return day.strftime("%d/%m/%Y") if language == "fr" else day.isoformat()


def format_local(moment: datetime, time_zone: str, language: str) -> tuple[str, str]:
    """Return the local day and HH:MM of an aware ``moment`` in ``time_zone``."""
    local = moment.astimezone(ZoneInfo(time_zone))
    return format_day(local.date(), language), local.strftime("%H:%M")
