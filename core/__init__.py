"""Shared foundation: configuration, extensions, model base, permissions, API helpers."""
