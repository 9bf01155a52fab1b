//! MOL (Shao et al. 2025, "Joint Estimation of Micro-Expression, Optical
//! Flow, and Landmark via Transformer-Graph-Style Convolution"), the
//! architecture of the official PyTorch code (CYF-cuber/MOL).
//!
//! Eight grey 128 x 128 frames; for each of the seven adjacent pairs both
//! frames go through a shared conv stack (-> 128 x 16 x 16) and an F5C
//! block (FCC + CCC; one set of weights for first frames, one for second).
//! Per pair, FlowNetC predicts the optical flow and a small head the
//! second frame's 68 landmarks; the fourteen F5C maps together feed the
//! 3-D CNN that classifies the micro-expression.
//!
//! Variable names are those of the official state dict, so converted
//! official weights load without renaming.
//!
//! `MolConfig::lite()` describes MOL-lite: the same modules at 64 x 64
//! with 64 feature channels and a small flow head (`lite_flow`), for LOSO
//! training on a CPU; its differences are listed on `MolConfig::lite`, its
//! parameters and FLOPs tabulated in `cost`.
pub mod bench;
pub mod ccc;
pub mod config;
pub mod conv_stack;
pub mod correlation;
pub mod cost;
pub mod f5c;
pub mod fcc;
pub mod flownet;
pub mod landmark_head;
pub mod lite_flow;
pub mod mer_head;
pub mod mol_model;

use tch::{nn, Tensor};

pub use config::{FlowHead, MerInput, MolConfig, MolConfigError};
pub use mol_model::{MolError, MolModel};

use conv_stack::ConvStack;
use f5c::F5c;
use flownet::FlowNet;
use landmark_head::LandmarkHead;
use lite_flow::LiteFlow;
use mer_head::MerHead;

/// A grey level in 0..1 as MOL takes it, -1..1: one mapping for the
/// training clips and the analysis's event frames.
pub fn input_level(grey: f32) -> f32 {
    (grey - 0.5) * 2.0
}

/// LeakyReLU with the 0.1 slope FlowNet uses (tch's `leaky_relu` is fixed
/// at 0.01).
pub(crate) fn leaky_relu(x: &Tensor) -> Tensor {
    x.maximum(&(x * 0.1))
}

/// PyTorch's default initialisation of a Conv or Linear layer with
/// `fan_in` inputs per output (what the official code gets): weight and
/// bias uniform in ±1/sqrt(fan_in). tch's own defaults draw weights sqrt(6)
/// times wider (Kaiming for ReLU) and zero the conv biases; through the
/// conv stack (no normalisation) and the MER head that started the logits
/// in the tens (a first MER loss of 16 instead of ~1.1).
pub(crate) fn torch_default(fan_in: i64) -> (nn::Init, nn::Init) {
    let bound = 1.0 / (fan_in as f64).sqrt();
    (nn::Init::Uniform { lo: -bound, up: bound }, nn::Init::Uniform { lo: -bound, up: bound })
}

/// A Conv2d/Conv1d config with PyTorch's default initialisation.
pub(crate) fn torch_conv(fan_in: i64, stride: i64, padding: i64) -> nn::ConvConfig {
    let (ws_init, bs_init) = torch_default(fan_in);
    nn::ConvConfig { stride, padding, ws_init, bs_init, ..Default::default() }
}

/// A Linear config with PyTorch's default initialisation.
pub(crate) fn torch_linear(fan_in: i64) -> nn::LinearConfig {
    let (ws_init, bs_init) = torch_default(fan_in);
    nn::LinearConfig { ws_init, bs_init: Some(bs_init), bias: true }
}

/// Trainable parameters in `vars`: what PyTorch's `model.parameters()`
/// counts (BatchNorm running statistics are not parameters).
pub fn trainable_params(vars: &nn::VarStore) -> i64 {
    vars.trainable_variables().iter().map(|t| t.numel() as i64).sum()
}

/// The configured flow network.
#[derive(Debug)]
enum FlowNetwork {
    FlowNetC(Box<FlowNet>),
    Lite(Box<LiteFlow>),
}

impl FlowNetwork {
    fn forward(&self, first: &Tensor, second: &Tensor, features: &Tensor, train: bool) -> Tensor {
        match self {
            Self::FlowNetC(net) => net.forward(first, second, features, train),
            Self::Lite(net) => net.forward(first, second, features, train),
        }
    }
}

#[derive(Debug)]
pub struct Mol {
    conv_stack: ConvStack,
    f5c_first: F5c,
    f5c_second: F5c,
    flownet: FlowNetwork,
    mer_head: MerHead,
    landmark_head: LandmarkHead,
    pairs_in_one_batch: bool,
    mer_input: MerInput,
}

/// The three outputs, in the official return order.
#[derive(Debug)]
pub struct MolOutput {
    /// `[B, classes]`, before softmax.
    pub class_logits: Tensor,
    /// `[B, pairs, 2, H, W]`: the flow from frame `i` to `i + 1`.
    pub flows: Tensor,
    /// `[B, pairs, 2 * landmarks]`: frame `i + 1`'s landmarks, x0, y0, x1, ...
    pub landmarks: Tensor,
}

impl Mol {
    pub fn new(path: &nn::Path, config: &MolConfig) -> Result<Self, MolConfigError> {
        config.validate()?;
        Ok(Self {
            conv_stack: ConvStack::new(&(path / "conv_stack"), config.feature_channels),
            f5c_first: F5c::new(&(path / "FCC_1"), &(path / "CCC_1"), config),
            f5c_second: F5c::new(&(path / "FCC_2"), &(path / "CCC_2"), config),
            flownet: match config.flow_head {
                FlowHead::FlowNetC => FlowNetwork::FlowNetC(Box::new(FlowNet::new(&(path / "flownet"), config))),
                FlowHead::Lite { width } => {
                    FlowNetwork::Lite(Box::new(LiteFlow::new(&(path / "flownet"), config, width)))
                }
            },
            mer_head: MerHead::new(&(path / "mer_3dcnn"), config),
            landmark_head: LandmarkHead::new(&(path / "ldm_predictor"), config),
            pairs_in_one_batch: config.pairs_in_one_batch,
            mer_input: config.mer_input,
        })
    }

    /// `[B, T, 1, H, W]` frames -> class logits, per-pair flows and
    /// landmarks. `train` selects batch statistics and dropout.
    pub fn forward(&self, frames: &Tensor, train: bool) -> MolOutput {
        let size = frames.size();
        let (batch, count) = (size[0], size[1]);
        // The conv stack has no normalisation, so running it once on all
        // frames gives what the official per-pair calls give, without
        // encoding the middle frames twice.
        let encoded = self.conv_stack.forward(&frames.reshape([batch * count, size[2], size[3], size[4]]));
        let grid = encoded.size();
        let encoded = encoded.reshape([batch, count, grid[1], grid[2], grid[3]]);
        if self.pairs_in_one_batch {
            return self.forward_pairs_batched(frames, &encoded, train);
        }
        let mut stacked = Vec::with_capacity(2 * (count - 1) as usize);
        let mut flows = Vec::with_capacity((count - 1) as usize);
        let mut landmarks = Vec::with_capacity((count - 1) as usize);
        for pair in 0..count - 1 {
            // F5C and FlowNet hold BatchNorms, so they run per pair as in
            // the official loop (batch statistics of one pair at a time).
            let first = self.f5c_first.forward(&encoded.select(1, pair), train);
            let second = self.f5c_second.forward(&encoded.select(1, pair + 1), train);
            landmarks.push(self.landmark_head.forward(&second));
            let features = Tensor::cat(&[&first, &second], 1);
            flows.push(self.flownet.forward(&frames.select(1, pair), &frames.select(1, pair + 1), &features, train));
            stacked.push(first);
            stacked.push(second);
        }
        MolOutput {
            class_logits: self.mer_head.forward(&Tensor::stack(&stacked, -1), train),
            flows: Tensor::stack(&flows, 1),
            landmarks: Tensor::stack(&landmarks, 1),
        }
    }

    /// `forward` with all pairs of a clip in one batch: the same maths per
    /// pair except that, in training, each BatchNorm normalises over the
    /// batch's every pair at once instead of one pair at a time. One call
    /// per module instead of one per pair is what makes MOL-lite fast on a
    /// CPU, where these small layers cost more in calls than in arithmetic.
    fn forward_pairs_batched(&self, frames: &Tensor, encoded: &Tensor, train: bool) -> MolOutput {
        let size = frames.size();
        let grid = encoded.size();
        let (batch, pairs) = (size[0], size[1] - 1);
        let (channels, side) = (grid[2], grid[3]);
        // For `MerInput::Differences` the first-frame block also maps the
        // last frame, so that every pair's two maps come from one block.
        let (first, first_of_all) = match self.mer_input {
            MerInput::Differences => {
                let all = self.f5c_first.forward(&merge(encoded), train);
                let grid = all.size();
                let all = all.reshape([batch, pairs + 1, grid[1], grid[2], grid[3]]);
                (merge(&all.narrow(1, 0, pairs)), Some(all))
            }
            MerInput::Features | MerInput::Flow => {
                (self.f5c_first.forward(&merge(&encoded.narrow(1, 0, pairs)), train), None)
            }
        };
        let second = self.f5c_second.forward(&merge(&encoded.narrow(1, 1, pairs)), train);
        let landmarks = self.landmark_head.forward(&second).reshape([batch, pairs, -1]);
        let features = Tensor::cat(&[&first, &second], 1);
        let flows = self.flownet.forward(
            &merge(&frames.narrow(1, 0, pairs)),
            &merge(&frames.narrow(1, 1, pairs)),
            &features,
            train,
        );
        let flows = flows.reshape([batch, pairs, 2, size[3], size[4]]);
        let stacked = match (self.mer_input, first_of_all) {
            // d_t = F(x_{t+1}) - F(x_t), one map per pair.
            (MerInput::Differences, Some(all)) => {
                (all.narrow(1, 1, pairs) - all.narrow(1, 0, pairs)).permute([0, 2, 3, 4, 1])
            }
            // Each pair's flow averaged over the feature grid's cells.
            (MerInput::Flow, _) => {
                let pooled = flows
                    .reshape([batch * pairs, 2, size[3], size[4]])
                    .adaptive_avg_pool2d([side, side])
                    .reshape([batch, pairs, 2, side, side]);
                pooled.permute([0, 2, 3, 4, 1])
            }
            // first0, second0, first1, ... along the last axis, as `forward`.
            _ => Tensor::stack(&[first, second], 2)
                .reshape([batch, 2 * pairs, channels, side, side])
                .permute([0, 2, 3, 4, 1]),
        };
        MolOutput { class_logits: self.mer_head.forward(&stacked, train), flows, landmarks }
    }
}

/// `[B, N, ...]` -> `[B * N, ...]`, sample-major so reshapes undo it.
fn merge(t: &Tensor) -> Tensor {
    let size = t.size();
    let mut shape = vec![size[0] * size[1]];
    shape.extend_from_slice(&size[2..]);
    t.reshape(shape.as_slice())
}
