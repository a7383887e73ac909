"""Maintainer and demo scripts, run from the repository root; importable so that tests can reach them."""
