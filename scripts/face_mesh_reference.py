"""Reference outputs of MediaPipe Face Mesh for the Rust port's test.

Runs `face_landmark.tflite` in the LiteRT interpreter on 192x192 crops of the
astronaut photo (several scales, rotations, and synthetic variations) and
writes src/face/mesh/reference.json: each case's crop description and the
interpreter's 468 x 3 landmarks (crop pixels, 3 decimals) and presence logit.
The Rust test rebuilds every crop with the same sampling (`sample_case` in
src/face/mesh/mod.rs) and compares its network's output with these.

Run by hand, once, when the model or the cases change (not part of set-up):
  python3 -m venv /tmp/ref
  /tmp/ref/bin/pip install ai-edge-litert==2.3.0 numpy==2.4.6 pillow==13.0.0
  /tmp/ref/bin/python scripts/face_mesh_reference.py FACE_LANDMARK_TFLITE ASTRONAUT_PNG OUT_JSON
(face_landmark.tflite: mediapipe==0.10.21's mediapipe/modules/face_landmark/.)

Crop sampling, shared with the Rust test: crop pixel (u, v) has its centre at
(u + 0.5, v + 0.5); it maps to the source point
  centre + R(angle) . ((u + 0.5 - 96) * side / 192, (v + 0.5 - 96) * side / 192)
(angle in degrees, positive turns the crop's x axis towards the source's +y),
which is sampled bilinearly between pixel centres (integer coordinates after
subtracting 0.5); samples outside the photo are 0. Values are RGB / 255, in
[0, 1] as MediaPipe's ImageToTensorCalculator gives this model
(output_tensor_float_range 0..1). Then the variation: `mirror` flips the crop
left-right, `dim` maps v to 0.1 + 0.45 v.
"""
import json
import math
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

SIDE = 192
CASES = [
    {"name": "frontal", "centre": [223.0, 120.0], "side": 170.0, "angle": 0.0, "variation": "none"},
    {"name": "tight", "centre": [222.0, 118.0], "side": 128.0, "angle": 0.0, "variation": "none"},
    {"name": "wide-shifted", "centre": [210.0, 135.0], "side": 250.0, "angle": 0.0, "variation": "none"},
    {"name": "rotated+25", "centre": [223.0, 120.0], "side": 180.0, "angle": 25.0, "variation": "none"},
    {"name": "rotated-40", "centre": [228.0, 116.0], "side": 190.0, "angle": -40.0, "variation": "none"},
    {"name": "mirror", "centre": [223.0, 120.0], "side": 170.0, "angle": 0.0, "variation": "mirror"},
    {"name": "dim", "centre": [223.0, 120.0], "side": 170.0, "angle": 0.0, "variation": "dim"},
    {"name": "no-face", "centre": [400.0, 400.0], "side": 170.0, "angle": 0.0, "variation": "none"},
]


def sample_case(rgb, case):
    h, w, _ = rgb.shape
    cx, cy = case["centre"]
    scale = case["side"] / SIDE
    a = math.radians(case["angle"])
    ca, sa = math.cos(a), math.sin(a)
    grid = (np.arange(SIDE, dtype=np.float64) + 0.5 - SIDE / 2) * scale
    du, dv = np.meshgrid(grid, grid)  # du varies along columns (u), dv along rows (v)
    x = cx + ca * du - sa * dv - 0.5
    y = cy + sa * du + ca * dv - 0.5
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]

    def px(yy, xx):
        inside = ((xx >= 0) & (xx < w) & (yy >= 0) & (yy < h))[..., None]
        return np.where(inside, rgb[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)], 0.0)

    out = (px(y0, x0) * (1 - fx) * (1 - fy) + px(y0, x0 + 1) * fx * (1 - fy)
           + px(y0 + 1, x0) * (1 - fx) * fy + px(y0 + 1, x0 + 1) * fx * fy) / 255.0
    if case["variation"] == "mirror":
        out = out[:, ::-1]
    elif case["variation"] == "dim":
        out = 0.1 + 0.45 * out
    elif case["variation"] != "none":
        raise SystemExit(f"unknown variation {case['variation']}")
    return out.astype(np.float32)


def main():
    model, photo, out = sys.argv[1:4]
    rgb = np.asarray(Image.open(photo).convert("RGB"), dtype=np.float64)
    interpreter = Interpreter(model_path=model, num_threads=1)
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    outputs = {d["name"]: d["index"] for d in interpreter.get_output_details()}
    cases = []
    for case in CASES:
        x = sample_case(rgb, case)[None]
        interpreter.set_tensor(inp["index"], np.ascontiguousarray(x))
        interpreter.invoke()
        points = interpreter.get_tensor(outputs["conv2d_21"]).reshape(468, 3)
        logit = float(interpreter.get_tensor(outputs["conv2d_31"]).reshape(()))
        score = 1.0 / (1.0 + math.exp(-logit))
        print(f"{case['name']:>14}: presence logit {logit:8.4f} (score {score:.4f}), "
              f"x {points[:, 0].min():6.1f}..{points[:, 0].max():6.1f}, y {points[:, 1].min():6.1f}..{points[:, 1].max():6.1f}")
        cases.append({**case, "presence_logit": round(logit, 5),
                      "points": [round(float(v), 3) for v in points.reshape(-1)]})
    doc = {"model": "mediapipe==0.10.21 mediapipe/modules/face_landmark/face_landmark.tflite",
           "interpreter": "ai-edge-litert==2.3.0, 1 thread", "photo": "scikit-image==0.24.0 astronaut.png",
           "cases": cases}
    with open(out, "w") as f:
        f.write("{\n")
        for key in ("model", "interpreter", "photo"):
            f.write(f" {json.dumps(key)}: {json.dumps(doc[key])},\n")
        f.write(' "cases": [\n')
        f.write(",\n".join("  " + json.dumps(c, separators=(",", ":")) for c in cases))
        f.write("\n ]\n}\n")


if __name__ == "__main__":
    main()
