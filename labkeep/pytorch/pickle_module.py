"""The pickle module whole-module PyTorch models are saved with: cloudpickle for writing (class
definitions from ``__main__`` travel with the model), the standard unpickler for reading.

MLmodel files name it ``mlflow.pytorch.pickle_module`` (mlflow's module of the same role), so
mlflow loads labkeep's models; labkeep maps that name back to this module.
"""

from pickle import Unpickler, load, loads  # noqa: F401

from cloudpickle import CloudPickler as Pickler  # noqa: F401
from cloudpickle import dump, dumps  # noqa: F401
