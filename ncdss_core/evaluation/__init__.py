"""Metrics on label maps, model evaluation, result tables and report figures."""
