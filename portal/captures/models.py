"""Models of Captures."""
