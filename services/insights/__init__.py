"""Demand statistics: facts, dashboards and de-identified open data."""
