"""The assistance desk: parents' requests and emails to the agent comptable, as one queue."""
