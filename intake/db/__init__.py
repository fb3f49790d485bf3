"""Persistence: one schema module, a thread pool that keeps SQLAlchemy off the reactor, typed stores."""
