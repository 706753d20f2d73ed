"""Thin click commands over the library API; one module per command group."""
