"""Local data, no git, no network: the object store and its layout."""
