"""The demo Base Opération: a generated French B2B operational database and its live activity.

``generate_base_operation`` fills a SQLite file or a PostgreSQL database with about four months
of sales, logistics, production and finance history. ``simulate_business_hour`` then adds one
hour of activity at a time, so the extraction has inserts, updates and deletes to pick up.
"""
