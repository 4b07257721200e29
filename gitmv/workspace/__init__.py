"""Work-tree bytes: scan, add, status, checkout; knows no remote and no tags."""
