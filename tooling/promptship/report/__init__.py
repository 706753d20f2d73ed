"""Turning runs and comparisons into text: console tables, Markdown, HTML, JSON."""
