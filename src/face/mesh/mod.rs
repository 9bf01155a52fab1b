//! MediaPipe Face Mesh (`face_landmark.tflite` of mediapipe 0.10.21, 468
//! points, Apache-2.0) in tch.
//!
//! Set-up converts the TFLite graph's float16 weights to
//! `face_mesh.safetensors` and describes its operators in `graph.json`
//! (scripts/convert_face_mesh.py). The network below re-implements that
//! graph: a 3x3 stride-2 stem, residual blocks (depthwise 3x3, pointwise 1x1,
//! shortcut max-pooled 2x2 when strided and zero-padded in channels when
//! widening, PReLU after the sum), then two heads, landmarks (1404 = 468 x 3)
//! and face presence (one logit), each ending in a 3x3 stride-3 VALID
//! convolution. TFLite's SAME padding puts the odd extra row and column
//! after (bottom, right), which every stride-2 convolution here needs.
//! [`FaceMesh::load`] checks the weights' names and shapes and every operator
//! (kind, wiring, kernel, stride, padding) against `graph.json`.
//!
//! Input as MediaPipe's `ImageToTensorCalculator` makes it for this model:
//! 192 x 192 RGB in [0, 1] from a square region 1.5 times the face box,
//! optionally rotated so the eyes are level, border pixels replicated.
//! Output: points in crop pixels (x right, y down, z depth on the x scale)
//! and a presence logit (MediaPipe applies a sigmoid and keeps the face at
//! 0.5).
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use opencv::core::{Mat, MatTraitConst, MatTraitConstManual, Scalar, Size, BORDER_REPLICATE};
use opencv::imgproc;
use serde::Deserialize;
use tch::{nn, Device, Kind, Tensor};

use super::{FaceBox, FaceDetection, FaceError};
use crate::model::epir_model::mismatches;

mod ibug;
pub use ibug::{five_from_ibug68, IBUG68_FROM_MESH};

/// Side of the network's square input, in pixels.
pub const INPUT_SIDE: i64 = 192;
/// Points of the mesh.
pub const MESH_POINTS: usize = 468;
/// MediaPipe keeps a face whose sigmoid presence score reaches this.
pub const PRESENCE_THRESHOLD: f32 = 0.5;
/// MediaPipe's region: the face box's long side times 1.5 (RectTransformation
/// `scale_x: 1.5 scale_y: 1.5 square_long: true`).
const ROI_SCALE: f32 = 1.5;
const WEIGHTS_FILE: &str = "face_mesh.safetensors";
const GRAPH_FILE: &str = "graph.json";

// ---------------------------------------------------------------- network

#[derive(Clone, Copy, Debug, PartialEq)]
enum Pad {
    Same,
    Valid,
}

impl Pad {
    fn tflite(self) -> &'static str {
        match self {
            Pad::Same => "SAME",
            Pad::Valid => "VALID",
        }
    }
}

/// TFLite SAME padding along one axis: output `ceil(n / stride)`, the total
/// pad split with the odd pixel after (bottom or right).
fn same_pad(n: i64, kernel: i64, stride: i64) -> (i64, i64) {
    let out = (n + stride - 1) / stride;
    let total = ((out - 1) * stride + kernel - n).max(0);
    (total / 2, total - total / 2)
}

/// A convolution (dense or depthwise) as TFLite runs it.
struct Conv {
    name: String,
    weight: Tensor,
    bias: Tensor,
    kernel: i64,
    stride: i64,
    pad: Pad,
    groups: i64,
}

impl Conv {
    fn new(root: &nn::Path, name: String, cin: i64, cout: i64, kernel: i64, stride: i64, pad: Pad) -> Self {
        let p = root / name.as_str();
        let weight = p.var("weight", &[cout, cin, kernel, kernel], nn::Init::Const(0.0));
        let bias = p.var("bias", &[cout], nn::Init::Const(0.0));
        Self { name, weight, bias, kernel, stride, pad, groups: 1 }
    }

    fn depthwise(root: &nn::Path, index: u8, channels: i64, stride: i64) -> Self {
        let name = format!("depthwise_conv2d_{index}");
        let p = root / name.as_str();
        let weight = p.var("weight", &[channels, 1, 3, 3], nn::Init::Const(0.0));
        let bias = p.var("bias", &[channels], nn::Init::Const(0.0));
        Self { name, weight, bias, kernel: 3, stride, pad: Pad::Same, groups: channels }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let (k, s) = (self.kernel, self.stride);
        let size = x.size();
        let ((top, bottom), (left, right)) = match self.pad {
            Pad::Same => (same_pad(size[2], k, s), same_pad(size[3], k, s)),
            Pad::Valid => ((0, 0), (0, 0)),
        };
        if top == bottom && left == right {
            x.conv2d(&self.weight, Some(&self.bias), [s, s], [top, left], [1, 1], self.groups)
        } else {
            let padded = x.constant_pad_nd([left, right, top, bottom]);
            padded.conv2d(&self.weight, Some(&self.bias), [s, s], [0, 0], [1, 1], self.groups)
        }
    }

    fn expected(&self, input: &str) -> ExpectedOp {
        ExpectedOp {
            op: if self.groups == 1 { "CONV_2D" } else { "DEPTHWISE_CONV_2D" },
            inputs: vec![input.to_string()],
            output: self.name.clone(),
            window: Some((self.kernel, self.stride, self.pad)),
            channel_pad: None,
        }
    }
}

struct Prelu {
    name: String,
    slope: Tensor,
}

impl Prelu {
    fn new(root: &nn::Path, index: u8, channels: i64) -> Self {
        let name = format!("p_re_lu_{index}");
        let slope = (root / name.as_str()).var("weight", &[channels], nn::Init::Const(0.0));
        Self { name, slope }
    }

    fn expected(&self, input: &str) -> ExpectedOp {
        ExpectedOp {
            op: "PRELU",
            inputs: vec![input.into()],
            output: self.name.clone(),
            window: None,
            channel_pad: None,
        }
    }
}

/// Indices of one residual block's layers in the TFLite names.
struct BlockSpec {
    dw: u8,
    pw: u8,
    prelu: u8,
    cin: i64,
    cout: i64,
    /// Strided blocks: the shortcut's `max_pooling2d_N`.
    pool: Option<u8>,
    /// Widening blocks: the shortcut's `channel_padding_N`.
    channel_pad: Option<u8>,
}

const fn block(dw: u8, pw: u8, prelu: u8, c: i64) -> BlockSpec {
    BlockSpec { dw, pw, prelu, cin: c, cout: c, pool: None, channel_pad: None }
}

const fn down(dw: u8, pw: u8, prelu: u8, cin: i64, cout: i64, pool: u8, channel_pad: Option<u8>) -> BlockSpec {
    BlockSpec { dw, pw, prelu, cin, cout, pool: Some(pool), channel_pad }
}

/// The shared trunk, 192 → 6 px (graph order).
const TRUNK: [BlockSpec; 14] = [
    block(1, 2, 2, 16),
    block(2, 3, 3, 16),
    down(3, 4, 4, 16, 32, 1, Some(1)),
    block(4, 5, 5, 32),
    block(5, 6, 6, 32),
    down(6, 7, 7, 32, 64, 2, Some(2)),
    block(7, 8, 8, 64),
    block(8, 9, 9, 64),
    down(9, 10, 10, 64, 128, 3, Some(3)),
    block(10, 11, 11, 128),
    block(11, 12, 12, 128),
    down(12, 13, 13, 128, 128, 4, None),
    block(13, 14, 14, 128),
    block(14, 15, 15, 128),
];

/// A head: residual blocks at 128 channels, a 1x1 reduction to 32 with
/// PReLU, one residual block at 32, and a 3x3 stride-3 VALID output conv.
struct HeadSpec {
    wide: &'static [BlockSpec],
    reduce: (u8, u8),
    narrow: BlockSpec,
    out: (u8, i64),
}

const LANDMARK_HEAD: HeadSpec = HeadSpec {
    wide: &[down(15, 16, 16, 128, 128, 5, None), block(16, 17, 17, 128), block(17, 18, 18, 128)],
    reduce: (19, 19),
    narrow: block(18, 20, 20, 32),
    out: (21, 3 * MESH_POINTS as i64),
};

const PRESENCE_HEAD: HeadSpec = HeadSpec {
    wide: &[down(23, 28, 26, 128, 128, 7, None)],
    reduce: (29, 27),
    narrow: block(24, 30, 28, 32),
    out: (31, 1),
};

struct Block {
    dw: Conv,
    pw: Conv,
    prelu: Prelu,
    pool: Option<String>,
    /// Zero channels appended to the shortcut, and the PAD op's name.
    channel_pad: Option<(i64, String)>,
}

impl Block {
    fn new(root: &nn::Path, spec: &BlockSpec) -> Self {
        let stride = if spec.pool.is_some() { 2 } else { 1 };
        Self {
            dw: Conv::depthwise(root, spec.dw, spec.cin, stride),
            pw: Conv::new(root, format!("conv2d_{}", spec.pw), spec.cin, spec.cout, 1, 1, Pad::Valid),
            prelu: Prelu::new(root, spec.prelu, spec.cout),
            pool: spec.pool.map(|i| format!("max_pooling2d_{i}")),
            channel_pad: spec.channel_pad.map(|i| (spec.cout - spec.cin, format!("channel_padding_{i}"))),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let branch = self.pw.forward(&self.dw.forward(x));
        let mut shortcut = match self.pool {
            Some(_) => x.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false),
            None => x.shallow_clone(),
        };
        if let Some((extra, _)) = &self.channel_pad {
            // NCHW: the last pair pads channels; TFLite pads [0, extra] at the end.
            shortcut = shortcut.constant_pad_nd([0, 0, 0, 0, 0, *extra]);
        }
        (shortcut + branch).prelu(&self.prelu.slope)
    }

    /// The block's operators, reading `input`; returns the name of its output.
    fn expected(&self, input: &str, ops: &mut Vec<ExpectedOp>) -> String {
        ops.push(self.dw.expected(input));
        ops.push(self.pw.expected(&self.dw.name));
        let mut shortcut = input.to_string();
        if let Some(pool) = &self.pool {
            ops.push(ExpectedOp {
                op: "MAX_POOL_2D",
                inputs: vec![shortcut],
                output: pool.clone(),
                window: Some((2, 2, Pad::Valid)),
                channel_pad: None,
            });
            shortcut = pool.clone();
        }
        if let Some((extra, name)) = &self.channel_pad {
            ops.push(ExpectedOp {
                op: "PAD",
                inputs: vec![shortcut],
                output: name.clone(),
                window: None,
                channel_pad: Some(*extra),
            });
            shortcut = name.clone();
        }
        // The sum's TFLite name is not derivable: it is named after the PReLU
        // that reads it and resolved from the graph (see `check_graph`).
        let sum = format!("sum->{}", self.prelu.name);
        ops.push(ExpectedOp {
            op: "ADD",
            inputs: vec![shortcut, self.pw.name.clone()],
            output: sum.clone(),
            window: None,
            channel_pad: None,
        });
        ops.push(self.prelu.expected(&sum));
        self.prelu.name.clone()
    }
}

struct Head {
    wide: Vec<Block>,
    reduce: Conv,
    reduce_prelu: Prelu,
    narrow: Block,
    out: Conv,
}

impl Head {
    fn new(root: &nn::Path, spec: &HeadSpec) -> Self {
        Self {
            wide: spec.wide.iter().map(|b| Block::new(root, b)).collect(),
            reduce: Conv::new(root, format!("conv2d_{}", spec.reduce.0), 128, 32, 1, 1, Pad::Valid),
            reduce_prelu: Prelu::new(root, spec.reduce.1, 32),
            narrow: Block::new(root, &spec.narrow),
            out: Conv::new(root, format!("conv2d_{}", spec.out.0), 32, spec.out.1, 3, 3, Pad::Valid),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let mut x = x.shallow_clone();
        for b in &self.wide {
            x = b.forward(&x);
        }
        let x = self.reduce.forward(&x).prelu(&self.reduce_prelu.slope);
        self.out.forward(&self.narrow.forward(&x))
    }

    fn expected(&self, input: &str, ops: &mut Vec<ExpectedOp>) -> String {
        let mut x = input.to_string();
        for b in &self.wide {
            x = b.expected(&x, ops);
        }
        ops.push(self.reduce.expected(&x));
        ops.push(self.reduce_prelu.expected(&self.reduce.name));
        let x = self.narrow.expected(&self.reduce_prelu.name, ops);
        ops.push(self.out.expected(&x));
        self.out.name.clone()
    }
}

struct Network {
    stem: Conv,
    stem_prelu: Prelu,
    trunk: Vec<Block>,
    landmarks: Head,
    presence: Head,
}

impl Network {
    fn new(root: &nn::Path) -> Self {
        Self {
            stem: Conv::new(root, "conv2d_1".into(), 3, 16, 3, 2, Pad::Same),
            stem_prelu: Prelu::new(root, 1, 16),
            trunk: TRUNK.iter().map(|b| Block::new(root, b)).collect(),
            landmarks: Head::new(root, &LANDMARK_HEAD),
            presence: Head::new(root, &PRESENCE_HEAD),
        }
    }

    /// `[N, 3, 192, 192]` RGB in [0, 1] → points `[N, 468, 3]` in crop
    /// pixels and presence logits `[N]`.
    fn forward(&self, x: &Tensor) -> (Tensor, Tensor) {
        let mut x = self.stem.forward(x).prelu(&self.stem_prelu.slope);
        for b in &self.trunk {
            x = b.forward(&x);
        }
        let n = x.size()[0];
        (self.landmarks.forward(&x).view([n, MESH_POINTS as i64, 3]), self.presence.forward(&x).view([n]))
    }

    /// Every operator this network runs, in the TFLite graph's terms.
    fn expected_ops(&self) -> (Vec<ExpectedOp>, [String; 2]) {
        let mut ops = vec![self.stem.expected("input_1"), self.stem_prelu.expected(&self.stem.name)];
        let mut x = self.stem_prelu.name.clone();
        for b in &self.trunk {
            x = b.expected(&x, &mut ops);
        }
        let landmarks = self.landmarks.expected(&x, &mut ops);
        let presence = self.presence.expected(&x, &mut ops);
        (ops, [landmarks, presence])
    }
}

// ---------------------------------------------------------------- graph check

struct ExpectedOp {
    op: &'static str,
    inputs: Vec<String>,
    output: String,
    /// Kernel side, stride, padding (convolutions and pooling).
    window: Option<(i64, i64, Pad)>,
    /// Zero channels appended (PAD).
    channel_pad: Option<i64>,
}

#[derive(Deserialize)]
struct Graph {
    outputs: Vec<GraphTensor>,
    ops: Vec<GraphOp>,
}

#[derive(Deserialize)]
struct GraphTensor {
    name: String,
}

#[derive(Deserialize)]
struct GraphOp {
    op: String,
    inputs: Vec<String>,
    output: String,
    stride: Option<[i64; 2]>,
    padding: Option<String>,
    kernel: Option<[i64; 2]>,
    paddings: Option<Vec<[i64; 2]>>,
}

/// Differences between the network and the TFLite graph, one line each.
fn check_graph(graph: &Graph, expected: &[ExpectedOp], outputs: &[String; 2]) -> Vec<String> {
    let mut problems = Vec::new();
    let by_output: HashMap<&str, &GraphOp> = graph.ops.iter().map(|op| (op.output.as_str(), op)).collect();
    // The sums' names, found from the PReLU that reads each one.
    let mut alias: HashMap<String, String> = HashMap::new();
    for e in expected.iter().filter(|e| e.op == "PRELU" && e.inputs[0].starts_with("sum->")) {
        if let Some(op) = by_output.get(e.output.as_str()) {
            alias.insert(e.inputs[0].clone(), op.inputs[0].clone());
        }
    }
    let resolve = |name: &String| alias.get(name).unwrap_or(name).clone();
    let mut matched = 0;
    for e in expected {
        let output = resolve(&e.output);
        let Some(op) = by_output.get(output.as_str()) else {
            problems.push(format!("the graph has no {} producing {output}", e.op));
            continue;
        };
        matched += 1;
        let inputs: Vec<String> = e.inputs.iter().map(&resolve).collect();
        if op.op != e.op || op.inputs != inputs {
            problems.push(format!(
                "{output}: the graph has {} of {:?}, the network {} of {inputs:?}",
                op.op, op.inputs, e.op
            ));
        }
        if let Some((kernel, stride, pad)) = e.window {
            let found = (op.kernel, op.stride, op.padding.as_deref());
            if found != (Some([kernel, kernel]), Some([stride, stride]), Some(pad.tflite())) {
                problems.push(format!(
                    "{output}: the graph has kernel {:?} stride {:?} padding {:?}, the network {kernel} {stride} {}",
                    found.0,
                    found.1,
                    found.2,
                    pad.tflite()
                ));
            }
        }
        if let Some(extra) = e.channel_pad {
            if op.paddings.as_deref() != Some(&[[0, 0], [0, 0], [0, 0], [0, extra]][..]) {
                problems.push(format!("{output}: the graph pads {:?}, the network [0, {extra}] channels", op.paddings));
            }
        }
    }
    if matched != graph.ops.len() {
        problems.push(format!("the graph has {} operators, the network matches {matched}", graph.ops.len()));
    }
    let names: Vec<&str> = graph.outputs.iter().map(|t| t.name.as_str()).collect();
    if names != [outputs[0].as_str(), outputs[1].as_str()] {
        problems.push(format!("the graph's outputs are {names:?}, the network's {outputs:?}"));
    }
    problems
}

// ---------------------------------------------------------------- API

/// The region the mesh sees: a square of `side` frame pixels centred on
/// `centre`, turned by `angle` radians (positive: the crop's x axis turns
/// towards the frame's +y, i.e. clockwise on screen).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeshRoi {
    pub centre: [f32; 2],
    pub side: f32,
    pub angle: f32,
}

impl MeshRoi {
    /// MediaPipe's square around a face box: 1.5 times its long side, upright.
    pub fn from_box(b: &FaceBox) -> Self {
        Self {
            centre: [b.x + b.width / 2.0, b.y + b.height / 2.0],
            side: ROI_SCALE * b.width.max(b.height),
            angle: 0.0,
        }
    }

    /// As [`MeshRoi::from_box`], turned so that the detection's eyes are level
    /// in the crop, as MediaPipe turns its region by the eye line.
    pub fn from_detection(d: &FaceDetection) -> Self {
        let [left, right] = [d.landmarks[0], d.landmarks[1]];
        Self { angle: (right[1] - left[1]).atan2(right[0] - left[0]), ..Self::from_box(&d.bbox) }
    }

    /// Maps crop pixel-index coordinates (pixel centres at integers) to frame
    /// pixel-index coordinates: `[[a, b, c], [d, e, f]]`.
    fn crop_to_frame(&self) -> [[f64; 3]; 3] {
        let s = f64::from(self.side) / INPUT_SIDE as f64;
        let (sin, cos) = f64::from(self.angle).sin_cos();
        let o = 0.5 - INPUT_SIDE as f64 / 2.0;
        [
            [cos * s, -sin * s, f64::from(self.centre[0]) - 0.5 + s * (cos * o - sin * o)],
            [sin * s, cos * s, f64::from(self.centre[1]) - 0.5 + s * (sin * o + cos * o)],
            [0.0, 0.0, 1.0],
        ]
    }
}

/// The mesh of one face, in frame coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct MeshLandmarks {
    /// 468 points: x, y in frame pixels (pixel centres at integers, as
    /// OpenCV draws), z relative depth in frame pixels (smaller is nearer).
    pub points: Vec<[f32; 3]>,
    /// Face presence, sigmoid of the network's logit, in 0..1.
    pub presence: f32,
    pub roi: MeshRoi,
}

impl MeshLandmarks {
    /// Whether MediaPipe would keep this face (presence ≥ 0.5).
    pub fn is_face(&self) -> bool {
        self.presence >= PRESENCE_THRESHOLD
    }

    /// The 68 points of the iBUG 300-W layout (jaw 0–16, brows 17–26, nose
    /// 27–35, eyes 36–47, mouth 48–67), "left" meaning smaller x in the image.
    pub fn ibug68(&self) -> [[f32; 2]; 68] {
        IBUG68_FROM_MESH.map(|i| [self.points[i][0], self.points[i][1]])
    }
}

/// The Face Mesh network with its weights, on one device.
pub struct FaceMesh {
    net: Network,
    device: Device,
    _store: nn::VarStore,
}

impl FaceMesh {
    /// Reads `face_mesh.safetensors` and `graph.json` from `dir`; refuses
    /// weights whose names or shapes differ from the network, and a graph
    /// whose operators differ from the ones the network runs.
    pub fn load(dir: &Path, device: Device) -> Result<Self, FaceError> {
        let graph_path = dir.join(GRAPH_FILE);
        let text = std::fs::read_to_string(&graph_path)
            .map_err(|source| FaceError::MeshRead { path: graph_path.clone(), source })?;
        let graph: Graph =
            serde_json::from_str(&text).map_err(|source| FaceError::MeshGraph { path: graph_path.clone(), source })?;

        let mut store = nn::VarStore::new(device);
        let net = Network::new(&store.root());
        let (expected, outputs) = net.expected_ops();
        let problems = check_graph(&graph, &expected, &outputs);
        if !problems.is_empty() {
            let problem = format!("does not match the network: {}", problems.join("; "));
            return Err(FaceError::Mesh { path: graph_path, problem });
        }

        let path = dir.join(WEIGHTS_FILE);
        if !path.is_file() {
            let problem = "file not found (set-up converts the MediaPipe Face Mesh weights)".to_string();
            return Err(FaceError::Mesh { path, problem });
        }
        let stored =
            Tensor::read_safetensors(&path).map_err(|source| FaceError::MeshWeights { path: path.clone(), source })?;
        let problems = mismatches(&store, &stored);
        if !problems.is_empty() {
            return Err(FaceError::Mesh { path, problem: format!("do not fit the network: {}", problems.join("; ")) });
        }
        let stored: BTreeMap<String, Tensor> = stored.into_iter().collect();
        tch::no_grad(|| -> Result<(), FaceError> {
            for (name, variable) in store.variables() {
                if let Some(value) = stored.get(&name) {
                    let mut variable = variable.shallow_clone();
                    variable
                        .f_copy_(&value.to_kind(Kind::Float))
                        .map_err(|source| FaceError::MeshWeights { path: path.clone(), source })?;
                }
            }
            Ok(())
        })?;
        store.freeze();
        Ok(Self { net, device, _store: store })
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// Runs the network on a batch of crops `[N, 3, 192, 192]`, RGB in
    /// [0, 1]: points `[N, 468, 3]` in crop pixels (0..192, continuous: the
    /// crop's left edge is x = 0) and presence logits `[N]`, on the CPU.
    pub fn forward_crops(&self, crops: &Tensor) -> Result<(Tensor, Tensor), FaceError> {
        let size = crops.size();
        if size.len() != 4 || size[1..] != [3, INPUT_SIDE, INPUT_SIDE] {
            return Err(FaceError::MeshInput(format!("crops of shape {size:?}, expected [N, 3, 192, 192]")));
        }
        let (points, logits) = tch::no_grad(|| self.net.forward(&crops.to_device(self.device).to_kind(Kind::Float)));
        Ok((points.to_device(Device::Cpu), logits.to_device(Device::Cpu)))
    }

    /// The mesh of the face in `face_box` of a BGR (or grey, or BGRA) 8-bit
    /// frame, from MediaPipe's upright square region around the box.
    pub fn landmarks(&self, frame: &Mat, face_box: &FaceBox) -> Result<MeshLandmarks, FaceError> {
        self.landmarks_in(frame, &MeshRoi::from_box(face_box))
    }

    /// The mesh of the face in `roi` of a BGR (or grey, or BGRA) 8-bit frame.
    pub fn landmarks_in(&self, frame: &Mat, roi: &MeshRoi) -> Result<MeshLandmarks, FaceError> {
        if frame.empty() {
            return Err(FaceError::MeshInput("empty frame".into()));
        }
        if !(roi.side.is_finite() && roi.side >= 4.0 && roi.centre.iter().chain([&roi.angle]).all(|v| v.is_finite())) {
            return Err(FaceError::MeshInput(format!("region {roi:?} is degenerate")));
        }
        let crop = crop(frame, roi)?;
        let (points, logits) = self.forward_crops(&crop)?;
        let points = Vec::<f32>::try_from(points.view([-1]))?;
        let logit = f32::try_from(logits.view([-1]).get(0))?;
        let m = roi.crop_to_frame();
        let scale = roi.side / INPUT_SIDE as f32;
        let points = points
            .chunks_exact(3)
            .map(|p| {
                // Continuous crop coordinates → pixel-index ones → frame.
                let (u, v) = (f64::from(p[0]) - 0.5, f64::from(p[1]) - 0.5);
                [
                    (m[0][0] * u + m[0][1] * v + m[0][2]) as f32,
                    (m[1][0] * u + m[1][1] * v + m[1][2]) as f32,
                    p[2] * scale,
                ]
            })
            .collect();
        Ok(MeshLandmarks { points, presence: 1.0 / (1.0 + (-logit).exp()), roi: *roi })
    }
}

/// The network's input for `roi`: `[1, 3, 192, 192]` RGB in [0, 1], sampled
/// bilinearly with border pixels replicated (ImageToTensorCalculator's
/// default).
fn crop(frame: &Mat, roi: &MeshRoi) -> Result<Tensor, FaceError> {
    let code = match frame.typ() {
        opencv::core::CV_8UC3 => imgproc::COLOR_BGR2RGB,
        opencv::core::CV_8UC1 => imgproc::COLOR_GRAY2RGB,
        opencv::core::CV_8UC4 => imgproc::COLOR_BGRA2RGB,
        other => return Err(FaceError::MeshInput(format!("frame of OpenCV type {other}, expected 8-bit BGR"))),
    };
    let m = roi.crop_to_frame();
    let affine = Mat::from_slice_2d(&[&m[0][..], &m[1][..]])?;
    let mut warped = Mat::default();
    let side = INPUT_SIDE as i32;
    imgproc::warp_affine(
        frame,
        &mut warped,
        &affine,
        Size::new(side, side),
        imgproc::INTER_LINEAR | imgproc::WARP_INVERSE_MAP,
        BORDER_REPLICATE,
        Scalar::default(),
    )?;
    let mut rgb = Mat::default();
    imgproc::cvt_color_def(&warped, &mut rgb, code)?;
    let bytes = rgb.data_bytes()?;
    Ok(Tensor::from_slice(bytes).view([1, INPUT_SIDE, INPUT_SIDE, 3]).permute([0, 3, 1, 2]).to_kind(Kind::Float)
        / 255.0)
}

#[cfg(test)]
mod tests;
