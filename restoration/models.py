"""Models of Restoration."""
