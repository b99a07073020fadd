"""Image prompts for Qwen2.5-VL models: decoding, the resize both engines agree on, and the hf engine's inputs.

vLLM is sent each image as qwen-vl-utils prepares it (`vllm_engine.load_image`); the hf engine decodes it with
PIL and resizes it by the same rule (`smart_resize`: both sides multiples of 28 pixels, the area within the
template's min/max pixels). Either way a prompt carries the same number of visual tokens, one per 28×28 pixels.

transformers' Qwen2.5-VL processor class cannot be built without torchvision (its video half needs it), and
PyPI has no torchvision that works beside the project's CPU torch. So the hf engine uses the model's image
processor through its PIL backend and expands the image placeholder itself, exactly as the processor does: one
placeholder token per visual token, then `mm_token_type_ids` marking them, which the model needs to lay out its
3-D (time, height, width) rotary positions.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rlvr_limits.errors import UserError
from rlvr_limits.sampling.templates import Images

#: Qwen2.5-VL: 14-pixel patches merged 2×2, so one visual token per 28×28 pixels of the resized image.
PIXELS_PER_TOKEN_SIDE = 28


def resized_size(width: int, height: int, images: Images) -> tuple[int, int]:
    """(width, height) after Qwen-VL's resize within the template's pixel bounds."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

    new_height, new_width = smart_resize(height, width, factor=PIXELS_PER_TOKEN_SIDE,
                                         min_pixels=images.min_pixels, max_pixels=images.max_pixels)
    return new_width, new_height


def visual_tokens(image: Any) -> int:
    """Number of prompt tokens one resized image expands into."""
    width, height = image.size
    return (width // PIXELS_PER_TOKEN_SIDE) * (height // PIXELS_PER_TOKEN_SIDE)


def load_image(ref: str | bytes, images: Images) -> Any:
    """A problem's image (a file path or encoded bytes) as RGB, resized within the template's bounds."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(Path(ref) if isinstance(ref, str) else io.BytesIO(ref))
        image.load()
    except (OSError, UnidentifiedImageError) as exc:
        where = ref if isinstance(ref, str) else f"{len(ref)} bytes"
        raise UserError(f"image {where}: cannot be decoded ({exc})") from None
    image = image.convert("RGB")
    size = resized_size(*image.size, images)
    return image if size == image.size else image.resize(size, Image.Resampling.BICUBIC)


class ImageInputs:
    """Turns (prompt token ids holding the image token once, resized image) into the VL model's inputs."""

    def __init__(self, model_path: str | Path, image_token_id: int, images: Images) -> None:
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

        try:
            self.processor = Qwen2VLImageProcessorPil.from_pretrained(str(model_path))
        except OSError as exc:
            raise UserError(f"{model_path}: no image processor (preprocessor_config.json) for image prompts "
                            f"({exc})") from None
        self.images = images
        self.image_token_id = image_token_id

    def __call__(self, prompt_ids: tuple[int, ...], image: Any) -> dict[str, Any]:
        import torch

        at = [i for i, token in enumerate(prompt_ids) if token == self.image_token_id]
        if len(at) != 1:
            raise ValueError(f"an image prompt must hold the image token {self.image_token_id} exactly once, "
                             f"found {len(at)}")
        # Qwen2-VL's processor reads its pixel bounds as size = {shortest_edge: min, longest_edge: max} pixels.
        bounds = {"shortest_edge": self.images.min_pixels, "longest_edge": self.images.max_pixels}
        pixels = self.processor(images=[image], size=bounds, return_tensors="pt")
        n_tokens = int(pixels["image_grid_thw"][0].prod()) // self.processor.merge_size ** 2
        ids = [*prompt_ids[:at[0]], *[self.image_token_id] * n_tokens, *prompt_ids[at[0] + 1:]]
        input_ids = torch.tensor([ids])
        return {"input_ids": input_ids, "pixel_values": pixels["pixel_values"],
                "image_grid_thw": pixels["image_grid_thw"],
                "mm_token_type_ids": (input_ids == self.image_token_id).int()}
