"""Woippy's declared deviations from the common project (see instances.toml)."""
