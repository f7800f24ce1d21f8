"""The image OpenVLA* sees, as OpenVLA-OFT's LIBERO evaluation and siiRL's rollout make it.

OFT (moojink/openvla-oft experiments/robot/openvla_utils.py `resize_image_for_policy`) and siiRL
(siirl/utils/embodied/libero_utils.py `resize_image`, called by `get_libero_image`) both:
1. JPEG-encode and decode the (already 180-degree rotated) agentview frame: ``tf.image.encode_jpeg`` with its
   defaults (quality 95, 4:2:0 chroma subsampling), "as done in RLDS dataset builder";
2. resize to 224 with ``tf.image.resize(method="lanczos3", antialias=True)``, rounded and clipped to uint8;
3. (OFT's `center_crop_image`, siiRL's CENTER_CROP=True) crop the central 0.9 of the area and resize it back
   with ``tf.image.crop_and_resize`` (bilinear).
TensorFlow is not needed: step 2 is TF's scale_and_translate kernel (tensorflow/core/kernels/image/
scale_and_translate_op.cc, sampling_kernels.h) written out here, step 1 uses PIL's libjpeg with TF's settings.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

JPEG_QUALITY = 95  # tf.image.encode_jpeg's default quality (OFT and siiRL pass none)
JPEG_SUBSAMPLING = "4:2:0"  # tf.image.encode_jpeg's default chroma_downsampling=True
LANCZOS_RADIUS = 3.0  # lanczos3
CROP_AREA = 0.9  # OFT / siiRL center_crop_image: crop_scale 0.9 of the image area


def encode_jpeg(image: np.ndarray) -> bytes:
    """uint8 HxWx3 -> JPEG bytes with tf.image.encode_jpeg's default settings."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=JPEG_QUALITY, subsampling=JPEG_SUBSAMPLING)
    return buffer.getvalue()


def jpeg_round_trip(image: np.ndarray) -> np.ndarray:
    """Encode and decode once, as OFT and siiRL do before resizing."""
    return np.asarray(Image.open(io.BytesIO(encode_jpeg(image))).convert("RGB"))


def lanczos3(x: np.ndarray) -> np.ndarray:
    """TF's LanczosKernelFunc(3): 3 sin(pi x) sin(pi x / 3) / (pi x)^2 for |x| <= 3 (1 near 0, else 0)."""
    x = np.abs(x)
    pi = np.float32(3.14159265359)  # TF's kPI
    with np.errstate(divide="ignore", invalid="ignore"):
        value = LANCZOS_RADIUS * np.sin(pi * x) * np.sin(pi * x / LANCZOS_RADIUS) / (pi * pi * x * x)
    return np.where(x > LANCZOS_RADIUS, 0.0, np.where(x <= 1e-3, 1.0, value)).astype(np.float32)


def lanczos3_weights(in_size: int, out_size: int) -> np.ndarray:
    """[out_size, in_size] float32 resampling weights of TF's ComputeSpans (scale out/in, no translation,
    antialias: the kernel widens by in/out when shrinking); each row sums to 1 over its clamped span."""
    inv_scale = in_size / out_size
    kernel_scale = max(inv_scale, 1.0)
    reach = LANCZOS_RADIUS * kernel_scale
    weights = np.zeros((out_size, in_size), dtype=np.float32)
    for x in range(out_size):
        centre = (x + 0.5) * inv_scale  # sample position in input pixel units
        start = min(max(math.ceil(centre - reach - 0.5), 0), in_size - 1)
        end = min(max(math.floor(centre + reach - 0.5), 0), in_size - 1) + 1
        sources = np.arange(start, end)
        w = lanczos3((sources + 0.5 - centre) / kernel_scale)
        total = w.sum(dtype=np.float32)
        weights[x, start:end] = w / total if abs(total) >= 1000 * np.finfo(np.float32).tiny else w
    return weights


def resize_lanczos3(image: np.ndarray, size: int) -> np.ndarray:
    """uint8 HxWxC -> uint8 size x size: tf.image.resize(lanczos3, antialias=True), rounded and clipped."""
    h, w = image.shape[:2]
    rows, cols = lanczos3_weights(h, size), lanczos3_weights(w, size)
    out = np.einsum("yh,hwc,xw->yxc", rows, image.astype(np.float32), cols, optimize=True)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def center_crop(image: np.ndarray, area: float = CROP_AREA) -> np.ndarray:
    """Crop the central `area` fraction and resize back, as tf.image.crop_and_resize does in OFT's crop_and_resize.

    Box side sqrt(area) (normalised), centred; output pixel i samples the input at
    y = y1 (H - 1) + i (y2 - y1)(H - 1) / (H - 1), bilinearly; then tf.image.convert_image_dtype back to uint8,
    i.e. floor(v * 255.5) of the [0, 1] value.
    """
    h, w = image.shape[:2]
    side = np.sqrt(area)
    off = (1.0 - side) / 2.0
    x = image.astype(np.float64) / 255.0
    ys = off * (h - 1) + np.arange(h) * side * (h - 1) / (h - 1)
    xs = off * (w - 1) + np.arange(w) * side * (w - 1) / (w - 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    top = x[y0][:, x0] * (1 - fx) + x[y0][:, x1] * fx
    bottom = x[y1][:, x0] * (1 - fx) + x[y1][:, x1] * fx
    out = np.clip(top * (1 - fy) + bottom * fy, 0.0, 1.0)
    return np.minimum(np.floor(out * 255.5), 255).astype(np.uint8)


def preprocess_image(image: np.ndarray, size: int) -> np.ndarray:
    """A rotated agentview frame (uint8 HxWx3) -> the uint8 size x size image the model sees."""
    return center_crop(resize_lanczos3(jpeg_round_trip(np.ascontiguousarray(image)), size))
