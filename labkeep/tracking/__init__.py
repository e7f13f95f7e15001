"""mlflow.tracking's public names, for scripts that import them from there."""

from labkeep.client import Client, MlflowClient
from labkeep.config import get_registry_uri, get_tracking_uri, set_registry_uri, set_tracking_uri

__all__ = [
    "Client",
    "MlflowClient",
    "get_registry_uri",
    "get_tracking_uri",
    "set_registry_uri",
    "set_tracking_uri",
]
