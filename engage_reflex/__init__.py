"""Engage: build, run and read Calliope energy-system models in the browser."""
