"""The ONNX flavor: an ONNX graph served by onnxruntime (extra ``onnx``).

``predict`` feeds a table or array to the graph: one input takes the whole array (cast to the
input's element type); several inputs take the DataFrame column of the same name each. The
first output is the prediction; a second output holding probabilities (plain tensor, or the
list of dicts of a ZipMap) is ``predict_proba``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.errors import InvalidArgument
from shipyard.registry._flavors import Predictor, SaveOptions, Trust, module_of

ONNX_FILE = "model.onnx"
_ELEMENT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.object_,
}


class OnnxFlavor:
    """``onnx.ModelProto`` graphs (e.g. from skl2onnx or torch.onnx)."""

    name = "onnx"

    def matches(self, model: Any) -> bool:
        return module_of(model).startswith("onnx") and type(model).__name__ == "ModelProto"

    def save(self, model: Any, folder: Path, options: SaveOptions) -> dict[str, Any]:
        try:
            import onnxruntime
        except ImportError:
            raise InvalidArgument(
                "the onnx flavor needs onnxruntime: pip install 'shipyard[onnx]'", field="model"
            ) from None
        (folder / ONNX_FILE).write_bytes(model.SerializeToString())
        outputs = [o.name for o in model.graph.output]
        return {
            "format": "onnx",
            "file": ONNX_FILE,
            "class": "onnx.ModelProto",
            "inputs": [i.name for i in model.graph.input],
            "outputs": outputs,
            "onnxruntime_version": onnxruntime.__version__,
            "methods": ["predict", "predict_proba"] if _proba_output(outputs) else ["predict"],
            "packages": ["onnxruntime", "numpy"],
        }

    def load(
        self, folder: Path, descriptor: Mapping[str, Any], trust: Trust, label: str
    ) -> Predictor:
        try:
            import onnxruntime
        except ImportError:
            raise InvalidArgument(
                f"{label} is an ONNX model and needs onnxruntime: pip install 'shipyard[onnx]'"
            ) from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(folder / str(descriptor.get("file", ONNX_FILE))),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )
        inputs = [(i.name, _ELEMENT_TYPES.get(i.type, np.float32)) for i in session.get_inputs()]
        outputs = [o.name for o in session.get_outputs()]
        proba_name = _proba_output(outputs)

        def feed(data: Any) -> dict[str, Any]:
            if len(inputs) == 1:
                name, dtype = inputs[0]
                array = data.to_numpy() if hasattr(data, "to_numpy") else np.asarray(data)
                return {name: array.astype(dtype, copy=False)}
            return {
                name: np.asarray(data[[name]]).astype(dtype, copy=False) for name, dtype in inputs
            }

        def predict(data: Any) -> Any:
            return session.run(outputs[:1], feed(data))[0]

        def predict_proba(data: Any) -> Any:
            result = session.run([proba_name], feed(data))[0]
            if isinstance(result, list):  # ZipMap: one {label: probability} dict per row
                keys = list(result[0]) if result else []
                return np.array([[row[k] for k in keys] for row in result])
            return result

        return Predictor(session, predict, predict_proba if proba_name else None)


def _proba_output(outputs: list[str]) -> str | None:
    for name in outputs[1:]:
        if "prob" in name.lower():
            return name
    return None
