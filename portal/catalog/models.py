"""Models of Catalog."""
