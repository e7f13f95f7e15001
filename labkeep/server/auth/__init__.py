"""Authentication and authorization for ``labkeep server --app-name basic-auth``."""
