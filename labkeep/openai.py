"""``labkeep.openai.autolog()`` (mlflow.openai's name): trace every openai chat completion.

The implementation lives in ``labkeep.genai.openai_autolog``.
"""

from labkeep.genai.openai_autolog import autolog

__all__ = ["autolog"]
