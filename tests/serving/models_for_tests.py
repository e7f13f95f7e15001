"""Models used by the serving tests (importable, so the server process can unpickle them)."""

from __future__ import annotations

import labkeep.pyfunc


class EchoParams(labkeep.pyfunc.PythonModel):
    """Appends ``suffix`` ``times`` times to each input string; fails on the text 'boom'."""

    def predict(self, context, model_input, params=None):
        params = params or {}
        out = []
        for text in model_input["text"]:
            if text == "boom":
                raise RuntimeError("the model exploded")
            out.append(text + params.get("suffix", "") * params.get("times", 1))
        return out
