"""The learning record: enrollments and progress, study sessions, the training-hour ledger,
offline classes and check-in, yearly requirements, certificates, organizer reports."""
