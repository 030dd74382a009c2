"""Accounts: users, the organization tree, roles, login, tokens, member and org administration."""
