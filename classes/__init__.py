"""Training classes (培训班): cohorts with a roster, a plan, a schedule of sessions and a graduation."""
