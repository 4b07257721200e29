"""The repository: the Repo context, pointers read from git, history, .gitattributes."""
