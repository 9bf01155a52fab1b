"""Convert facenet-pytorch's MTCNN weights (legacy torch pickles, which tch
cannot read) into safetensors files that Glimpse loads with tch.

usage: convert_mtcnn.py WHEEL_DATA_DIR OUT_DIR
Writes OUT_DIR/{pnet,rnet,onet}.safetensors. The safetensors layout is written
by hand (8-byte header length, JSON header, raw little-endian data) so the
venv needs nothing beyond torch.
"""
import json
import os
import struct
import sys

import torch

DTYPES = {torch.float32: "F32"}


def write_safetensors(state, path):
    header, blobs, offset = {}, [], 0
    for name in sorted(state):
        tensor = state[name].detach().contiguous().cpu()
        if tensor.dtype not in DTYPES:
            raise SystemExit(f"{path}: tensor {name} has unsupported dtype {tensor.dtype}")
        # clone(): a storage of exactly this tensor; x86 and ARM are little-endian.
        data = bytes(tensor.clone().untyped_storage())
        assert len(data) == tensor.numel() * 4, name
        header[name] = {"dtype": DTYPES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as out:
        out.write(struct.pack("<Q", len(head)))
        out.write(head)
        for blob in blobs:
            out.write(blob)
    os.replace(tmp, path)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    os.makedirs(dst, exist_ok=True)
    for net in ("pnet", "rnet", "onet"):
        state = torch.load(os.path.join(src, f"{net}.pt"), map_location="cpu", weights_only=True)
        write_safetensors(state, os.path.join(dst, f"{net}.safetensors"))
        print(f"{net}: {len(state)} tensors -> {dst}/{net}.safetensors")


if __name__ == "__main__":
    main()
