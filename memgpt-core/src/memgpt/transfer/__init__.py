"""Moving memories: between backends (``memgpt migrate``) and through files (``memgpt export`` / ``import``)."""
