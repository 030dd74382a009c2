"""Organizer reports: the compliance dashboard, a member's ledger, reminders and exports (CLI = web)."""
