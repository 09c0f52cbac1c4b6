"""Names the demo Base Opération is made of: regions, cities, sites, carriers and products.

Every carrier and site name is invented. A zone missing from these tables (one added to
marts/zones.yml later) still gets data: Faker fr_FR cities, one plant and one warehouse.
"""

from __future__ import annotations

REGIONS = {
    "idf": "France métropolitaine, Nord",
    "hdf": "France métropolitaine, Nord",
    "ara": "France métropolitaine, Centre-Est",
    "paca": "France métropolitaine, Sud-Est",
    "reunion": "Outre-mer, océan Indien",
}
DEFAULT_REGION = "France"

CITIES = {
    "idf": (
        "Paris",
        "Créteil",
        "Nanterre",
        "Évry-Courcouronnes",
        "Saint-Denis",
        "Versailles",
        "Cergy",
        "Meaux",
        "Argenteuil",
        "Montreuil",
        "Boulogne-Billancourt",
        "Rungis",
    ),
    "hdf": (
        "Lille",
        "Amiens",
        "Roubaix",
        "Tourcoing",
        "Valenciennes",
        "Dunkerque",
        "Béthune",
        "Calais",
        "Compiègne",
        "Saint-Quentin",
        "Arras",
        "Beauvais",
    ),
    "ara": (
        "Lyon",
        "Grenoble",
        "Saint-Étienne",
        "Clermont-Ferrand",
        "Annecy",
        "Chambéry",
        "Valence",
        "Villeurbanne",
        "Roanne",
        "Bourg-en-Bresse",
        "Vénissieux",
        "Aurillac",
    ),
    "paca": (
        "Marseille",
        "Nice",
        "Toulon",
        "Aix-en-Provence",
        "Avignon",
        "Cannes",
        "Antibes",
        "Fréjus",
        "Gap",
        "Digne-les-Bains",
        "Vitrolles",
        "Salon-de-Provence",
    ),
    "reunion": (
        "Saint-Denis",
        "Saint-Pierre",
        "Le Port",
        "Saint-Paul",
        "Le Tampon",
        "Saint-Louis",
        "Saint-André",
        "Saint-Benoît",
        "Sainte-Marie",
        "L'Étang-Salé",
    ),
}

# (site type, city) per zone; the first warehouse of a zone ships most of its orders.
SITES = {
    "idf": (
        ("plant", "Évry-Courcouronnes"),
        ("warehouse", "Gonesse"),
        ("warehouse", "Rungis"),
        ("warehouse", "Bonneuil-sur-Marne"),
    ),
    "hdf": (
        ("plant", "Valenciennes"),
        ("plant", "Dunkerque"),
        ("warehouse", "Lesquin"),
        ("warehouse", "Amiens"),
    ),
    "ara": (
        ("plant", "Saint-Étienne"),
        ("plant", "Annecy"),
        ("warehouse", "Saint-Priest"),
        ("warehouse", "Grenoble"),
    ),
    "paca": (
        ("plant", "Vitrolles"),
        ("warehouse", "Marseille"),
        ("warehouse", "Nice"),
    ),
    "reunion": (
        ("plant", "Le Port"),
        ("warehouse", "Saint-Pierre"),
    ),
}
SITE_NAME_PREFIX = {"plant": "Usine de", "warehouse": "Entrepôt de"}

# (name, share of deliveries late, zones served or None for all metropolitan zones).
CARRIERS = (
    ("Transports Lemoine", 0.05, None),
    ("Messagerie du Nord", 0.08, ("idf", "hdf")),
    ("Rhône Fret Express", 0.07, ("ara", "paca")),
    ("Azur Logistique", 0.14, ("paca",)),
    ("Fret Atlantique", 0.11, None),
    ("Transports Bréval", 0.19, None),
    ("Océan Indien Transit", 0.12, ("reunion",)),
    ("Mascareignes Express", 0.20, ("reunion",)),
)
OVERSEAS_ZONES = ("reunion",)

MARKET_SEGMENTS = ("industry", "retail", "public", "healthcare")
MARKET_SEGMENT_WEIGHTS = (50, 20, 15, 15)

CHANNELS = ("sales_rep", "web", "edi")
CHANNEL_WEIGHTS = (40, 35, 25)

PAYMENT_METHODS = ("transfer", "card", "cheque")
PAYMENT_METHOD_WEIGHTS = (80, 12, 8)

# family: (SKU prefix, ((category, lowest and highest list price in euros), ...),
# product name variants)
PRODUCT_FAMILIES = {
    "Visserie": (
        "VIS",
        (("Vis", 0.05, 0.9), ("Boulons", 0.2, 2.5), ("Écrous", 0.05, 0.6), ("Chevilles", 0.1, 1.2)),
        ("M4 zingué", "M6 inox A2", "M8 inox A4", "M10 acier 8.8", "M12 galvanisé"),
    ),
    "Emballage": (
        "EMB",
        (("Cartons", 0.6, 4.5), ("Film étirable", 9.0, 28.0), ("Palettes", 8.0, 22.0)),
        ("standard", "renforcé", "recyclé", "grand format", "alimentaire"),
    ),
    "Hydraulique": (
        "HYD",
        (("Raccords", 3.0, 35.0), ("Flexibles", 12.0, 90.0), ("Vérins", 80.0, 650.0)),
        ("DN10 200 bar", "DN16 250 bar", "DN20 350 bar", "DN25 400 bar"),
    ),
    "Pneumatique": (
        "PNE",
        (("Raccords rapides", 1.5, 14.0), ("Tubes", 0.8, 6.0), ("Distributeurs", 45.0, 320.0)),
        ("Ø6 mm", "Ø8 mm", "Ø10 mm", "Ø12 mm"),
    ),
    "Électricité": (
        "ELE",
        (("Câbles", 0.9, 12.0), ("Connecteurs", 0.4, 9.0), ("Disjoncteurs", 18.0, 140.0)),
        ("16 A", "32 A", "3G2,5", "5G6", "IP67"),
    ),
    "Équipement de protection": (
        "EPI",
        (("Gants", 1.5, 14.0), ("Lunettes", 4.0, 25.0), ("Casques", 12.0, 60.0)),
        ("taille M", "taille L", "taille XL", "anti-coupure", "haute visibilité"),
    ),
    "Outillage": (
        "OUT",
        (("Forets", 2.0, 30.0), ("Clés", 5.0, 80.0), ("Abrasifs", 0.5, 8.0)),
        ("HSS", "carbure", "chrome-vanadium", "grain 80", "grain 120"),
    ),
    "Roulements": (
        "ROU",
        (("Roulements à billes", 3.0, 60.0), ("Paliers", 15.0, 180.0)),
        ("6204 2RS", "6205 ZZ", "6306 2RS", "UCP 205", "UCF 208"),
    ),
}
