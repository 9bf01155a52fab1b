"""Convert MediaPipe Face Mesh (`face_landmark.tflite`, 468 points, from the
mediapipe wheel) into a safetensors file that Glimpse loads with tch.

usage: convert_face_mesh.py FACE_LANDMARK_TFLITE OUT_DIR
Needs torch (the set-up venv) and the pure-Python `tflite` and `flatbuffers`
packages on PYTHONPATH (setup.sh installs pinned copies into a scratch folder).

Writes
- OUT_DIR/face_mesh.safetensors: every weight as float32 (the model stores
  them as float16 behind DEQUANTIZE ops), in PyTorch layout: convolutions
  [out, in, kh, kw] (TFLite: [out, kh, kw, in]), depthwise convolutions
  [channels, 1, kh, kw] (TFLite: [1, kh, kw, channels]), PReLU slopes
  [channels] (TFLite: [1, 1, channels]). Names are the TFLite layer names with
  `.weight` / `.bias`, e.g. `conv2d_1.weight`, `p_re_lu_1.weight`.
- OUT_DIR/graph.json: the operators in graph order (type, input and output
  activations, layer, stride, padding, kernel size, channel padding), which
  src/face/mesh.rs checks its network against when it loads.
"""
import json
import os
import struct
import sys

import tflite
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_mtcnn import write_safetensors  # noqa: E402

OPS = {v: k for k, v in tflite.BuiltinOperator.__dict__.items() if not k.startswith("_")}
TYPES = {v: k for k, v in tflite.TensorType.__dict__.items() if not k.startswith("_")}
PADDING = {tflite.Padding.SAME: "SAME", tflite.Padding.VALID: "VALID"}


def main():
    src, dst = sys.argv[1], sys.argv[2]
    raw = open(src, "rb").read()
    model = tflite.Model.GetRootAsModel(raw, 0)
    if model.SubgraphsLength() != 1:
        raise SystemExit(f"{src}: expected one subgraph, found {model.SubgraphsLength()}")
    graph = model.Subgraphs(0)

    def name(index):
        return graph.Tensors(index).Name().decode()

    def shape(index):
        t = graph.Tensors(index)
        return [t.Shape(i) for i in range(t.ShapeLength())]

    def data(index):
        """The constant behind tensor `index`, as a torch tensor of its shape."""
        t = graph.Tensors(index)
        buf = model.Buffers(t.Buffer())
        if buf.Offset() or buf.Size():
            raise SystemExit(f"{src}: tensor {name(index)} is stored outside the flatbuffer")
        start = buf._tab.Vector(buf._tab.Offset(4))  # field 4: `data`, a byte vector
        blob = bytearray(raw[start:start + buf.DataLength()])
        kind = TYPES[t.Type()]
        dtype = {"FLOAT16": torch.float16, "FLOAT32": torch.float32, "INT32": torch.int32}.get(kind)
        if dtype is None or not blob:
            raise SystemExit(f"{src}: tensor {name(index)} is {kind} with {len(blob)} bytes")
        return torch.frombuffer(blob, dtype=dtype).reshape(shape(index))

    # DEQUANTIZE turns a float16 constant into the float32 tensor the next op
    # reads: map the float32 name back to the stored constant.
    constants = {}
    ops = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        kind = OPS[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        ins = [op.Inputs(j) for j in range(op.InputsLength())]
        outs = [op.Outputs(j) for j in range(op.OutputsLength())]
        if kind == "DEQUANTIZE":
            constants[name(outs[0])] = data(ins[0]).float()
            continue
        ops.append((kind, op, ins, outs))

    state, described = {}, []
    for kind, op, ins, outs in ops:
        entry = {"op": kind, "inputs": [name(ins[0])], "output": name(outs[0]), "shape": shape(outs[0])}
        options = op.BuiltinOptions()
        layer = name(outs[0])
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            o = tflite.Conv2DOptions() if kind == "CONV_2D" else tflite.DepthwiseConv2DOptions()
            o.Init(options.Bytes, options.Pos)
            if o.FusedActivationFunction() != 0 or o.DilationHFactor() != 1 or o.DilationWFactor() != 1:
                raise SystemExit(f"{src}: {layer} has a fused activation or dilation the port lacks")
            kernel = constants[name(ins[1])]
            bias = constants[name(ins[2])]
            if kind == "CONV_2D":
                weight = kernel.permute(0, 3, 1, 2)
            else:
                if o.DepthMultiplier() != 1:
                    raise SystemExit(f"{src}: {layer} has depth multiplier {o.DepthMultiplier()}")
                weight = kernel.permute(3, 0, 1, 2)
            state[f"{layer}.weight"] = weight.contiguous()
            state[f"{layer}.bias"] = bias.contiguous()
            entry.update(stride=[o.StrideH(), o.StrideW()], padding=PADDING[o.Padding()],
                         kernel=list(weight.shape[2:]))
        elif kind == "PRELU":
            alpha = constants[name(ins[1])]
            state[f"{layer}.weight"] = alpha.reshape(-1).contiguous()
        elif kind == "MAX_POOL_2D":
            o = tflite.Pool2DOptions()
            o.Init(options.Bytes, options.Pos)
            entry.update(stride=[o.StrideH(), o.StrideW()], padding=PADDING[o.Padding()],
                         kernel=[o.FilterHeight(), o.FilterWidth()])
        elif kind == "PAD":
            entry["paddings"] = data(ins[1]).tolist()
        elif kind == "ADD":
            o = tflite.AddOptions()
            o.Init(options.Bytes, options.Pos)
            if o.FusedActivationFunction() != 0:
                raise SystemExit(f"{src}: {layer} has a fused activation the port lacks")
            entry["inputs"] = [name(ins[0]), name(ins[1])]
        else:
            raise SystemExit(f"{src}: operator {kind} ({layer}) is not supported by the port")
        described.append(entry)

    inputs = [{"name": name(graph.Inputs(i)), "shape": shape(graph.Inputs(i))} for i in range(graph.InputsLength())]
    outputs = [{"name": name(graph.Outputs(i)), "shape": shape(graph.Outputs(i))}
               for i in range(graph.OutputsLength())]
    os.makedirs(dst, exist_ok=True)
    write_safetensors(state, os.path.join(dst, "face_mesh.safetensors"))
    tmp = os.path.join(dst, "graph.json.tmp")
    with open(tmp, "w") as f:
        json.dump({"source": os.path.basename(src), "inputs": inputs, "outputs": outputs, "ops": described}, f, indent=1)
    os.replace(tmp, os.path.join(dst, "graph.json"))
    counts = {}
    for entry in described:
        counts[entry["op"]] = counts.get(entry["op"], 0) + 1
    params = sum(t.numel() for t in state.values())
    print(f"face mesh: {len(state)} tensors, {params} parameters, ops {counts} -> {dst}")


if __name__ == "__main__":
    main()
