"""The model registry: GTO tags, events, versions and stages, lineage, compare."""
