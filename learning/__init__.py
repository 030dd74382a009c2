"""The learning record: study sessions and heartbeats, the training-hour ledger, completion and certificates,
offline classes and check-in, yearly requirements. (Enrollments live with courses; reports and training classes
are the packages above this one.)"""
