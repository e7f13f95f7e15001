"""labkeep tracking server: an ASGI app speaking MLflow's REST protocol."""
