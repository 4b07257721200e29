"""The install side of git hooks: shim text, chaining, install and uninstall."""
