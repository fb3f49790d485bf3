"""Places, departments, routing, duplicates and the closed loop: pure domain code.

Frozen dataclasses and plain functions; no Twisted, no SQLAlchemy, no files opened outside loading.
"""
