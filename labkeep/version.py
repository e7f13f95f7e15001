"""labkeep's own version, and the MLflow version whose wire protocol it speaks."""

__version__ = "0.1.0"

# The MLflow release whose REST API, formats and behaviours labkeep reproduces.
MLFLOW_COMPAT_VERSION = "3.17.2"
