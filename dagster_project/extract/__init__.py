"""Incremental extraction of the Base Opération into the warehouse's ``raw`` schema.

A table is read from its declared cursor's watermark (minus a lookback) and merged by primary
key into a DuckDB landing table. Its new watermark is saved in the same transaction, so a crash
at any point leaves either the previous or the next complete state.
"""
