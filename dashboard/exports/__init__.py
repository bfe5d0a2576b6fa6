"""Exporters: one file per format, each rendering tables or layers that layers/ computed."""
