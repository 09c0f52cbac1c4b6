"""dbt transformation: staging, intermediate and zone mart models as Dagster assets."""
