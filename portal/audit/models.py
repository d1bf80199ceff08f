"""Models of Audit history."""
