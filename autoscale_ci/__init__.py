"""Trigger dbt Cloud Slim CI for a pull request without queueing behind other pull requests."""

__version__ = "0+unreleased"
# Sent with every request to dbt Cloud, from the main step and the post step alike.
USER_AGENT = f"autoscale-dbt-ci/{__version__}"
