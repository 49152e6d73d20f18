"""The job families this product ships, one package or module each (see docs/families.md)."""
