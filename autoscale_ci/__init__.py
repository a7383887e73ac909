"""Trigger dbt Cloud Slim CI for a pull request without queueing behind other pull requests."""

__version__ = "0+unreleased"
