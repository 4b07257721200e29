"""Operations: the steps the CLI, the API and the hooks share, above transfer/remote/repo."""
