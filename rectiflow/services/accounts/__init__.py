"""Accounts and actors: users, units, role assignments, and the resolved caller of a request."""
