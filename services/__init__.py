"""Domain operations (verbs that flush, never commit) and adapters to the outside world."""
