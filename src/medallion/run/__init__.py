"""Run the layers: dbt for bronze and gold, spark-submit for silver, and the run ledger."""
