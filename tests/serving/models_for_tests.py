"""Models used by the serving tests (importable, so the server process can unpickle them)."""

from __future__ import annotations

import labkeep.pyfunc


class EchoParams(labkeep.pyfunc.PythonModel):
    """Appends ``suffix`` ``times`` times to each input string; 'boom' fails, 'sleep' takes 5 s."""

    def predict(self, context, model_input, params=None):
        params = params or {}
        out = []
        for text in model_input["text"]:
            if text == "boom":
                raise RuntimeError("the model exploded")
            if text == "sleep":
                import time

                time.sleep(5)
            out.append(text + params.get("suffix", "") * params.get("times", 1))
        return out
