"""`dtype=float16` runs on CPU: the setting that reproduces float16 published runs (pixels cast to float16 before
the tower, as the release-era adapter does) works without a GPU."""
import torch
from PIL import Image

from ov_eval.models.onevision import OneVisionAdapter
from ov_eval.models.preprocess import anyres_image_token_count
from ov_eval.types import GenerationSettings, ModelInput


def test_a_tiny_checkpoint_sample_generates_in_float16_on_cpu(tiny_checkpoint):
    adapter = OneVisionAdapter({"pretrained": str(tiny_checkpoint), "dtype": "float16"}, device="cpu")
    assert adapter.device.type == "cpu" and adapter.dtype == torch.float16
    assert {p.dtype for p in adapter.model.parameters()} == {torch.float16}
    assert adapter.describe()["dtype"] == "float16"
    image = Image.new("RGB", (640, 480), (200, 30, 30))
    prepared = adapter.prepare(ModelInput("What colour?", (image,), (), GenerationSettings(max_new_tokens=6)))
    [row] = adapter._embed_batch([prepared])
    assert row[0].dtype == torch.float16 and row[1] == anyres_image_token_count(640, 480) == 2929
    assert adapter._to_device(prepared.visuals[0].pixels).dtype == torch.float16
    [generation] = adapter.generate([prepared])
    assert generation.image_tokens == 2929 and 1 <= generation.output_tokens <= 6
    assert generation.input_tokens == prepared.input_tokens
    float32 = OneVisionAdapter({"pretrained": str(tiny_checkpoint), "dtype": "float32"}, device="cpu")
    assert float32.identity != adapter.identity  # journals of the two dtypes never mix
