"""Chinese language understanding for citizen reports: pure domain code.

Nothing here does I/O beyond loading its own data (taxonomy, dictionaries, the trained model);
nothing imports Twisted or SQLAlchemy. Every function is deterministic.
"""
