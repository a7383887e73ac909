"""`make bench`: this action against dbtc's `trigger_autoscaling_ci_job`, on the local dbt Cloud emulator."""
