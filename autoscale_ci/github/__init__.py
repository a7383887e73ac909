"""The GitHub REST API."""
