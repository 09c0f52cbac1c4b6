"""Zone marts: incremental extraction, dbt marts, a quality gate and one published mart per zone."""
