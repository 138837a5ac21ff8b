"""Renderers: models in, strings out. No file I/O here."""
