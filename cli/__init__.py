"""`flask` command groups: users, seed, outbox, jobs."""
