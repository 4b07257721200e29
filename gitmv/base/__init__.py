"""Foundations: errors, layered config, every git call, atomic publish, fast copy, YAML."""
