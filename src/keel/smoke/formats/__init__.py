"""Renderers of smoke reports: table, json, junit, markdown."""
