//! The optical-flow head: FlowNetC with BatchNorm. Its own encoder runs on
//! the raw frames (shared weights for both); the correlation of the two
//! encodings, a 1x1 "redirect" of the first, and both frames' F5C features
//! are concatenated, encoded down to 1/64 and refined back up to full
//! resolution, predicting a flow at every scale and feeding each (upsampled)
//! to the next. Only the full-resolution flow is returned, as published.
//!
//! Variable names follow the official state dict (`conv3_1.0.weight`,
//! `deconv5.0.weight`, `predict_flow0.weight`, ...).
use tch::{nn, Tensor};

use super::correlation::correlate;
use super::{leaky_relu, MolConfig};

/// Conv (no bias) -> BatchNorm -> LeakyReLU(0.1), padding (k-1)/2.
#[derive(Debug)]
pub(super) struct ConvBnAct {
    conv: nn::Conv2D,
    norm: nn::BatchNorm,
}

impl ConvBnAct {
    pub(super) fn new(path: nn::Path, c_in: i64, c_out: i64, kernel: i64, stride: i64) -> Self {
        let config = nn::ConvConfig {
            stride,
            padding: (kernel - 1) / 2,
            bias: false,
            ws_init: flownet_init(),
            ..Default::default()
        };
        let norm_config =
            nn::BatchNormConfig { ws_init: nn::Init::Const(1.0), bs_init: nn::Init::Const(0.0), ..Default::default() };
        Self {
            conv: nn::conv2d(&path / 0, c_in, c_out, kernel, config),
            norm: nn::batch_norm2d(&path / 1, c_out, norm_config),
        }
    }

    pub(super) fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        leaky_relu(&x.apply(&self.conv).apply_t(&self.norm, train))
    }
}

/// The official init: kaiming_normal_(w, a=0.1), fan-in (for a transposed
/// convolution PyTorch takes `weight.size(1) * k * k`, as tch does).
fn flownet_init() -> nn::Init {
    nn::Init::Kaiming {
        dist: nn::init::NormalOrUniform::Normal,
        fan: nn::init::FanInOut::FanIn,
        non_linearity: nn::init::NonLinearity::ExplicitGain((2.0f64 / (1.0 + 0.1 * 0.1)).sqrt()),
    }
}

/// 4x4 stride-2 transposed convolution, no bias: doubles the grid.
pub(super) fn up_conv(path: nn::Path, c_in: i64, c_out: i64) -> nn::ConvTranspose2D {
    let config =
        nn::ConvTransposeConfig { stride: 2, padding: 1, bias: false, ws_init: flownet_init(), ..Default::default() };
    nn::conv_transpose2d(path, c_in, c_out, 4, config)
}

/// 3x3 convolution to two flow channels, no bias.
pub(super) fn flow_predictor(path: nn::Path, c_in: i64) -> nn::Conv2D {
    let config = nn::ConvConfig { padding: 1, bias: false, ws_init: flownet_init(), ..Default::default() };
    nn::conv2d(path, c_in, 2, 3, config)
}

/// One refinement level: a deconvolution of the coarser features and the
/// upsampled coarser flow, concatenated with the encoder's features here.
#[derive(Debug)]
struct Refinement {
    /// `deconvN`, followed by LeakyReLU(0.1).
    deconv: nn::ConvTranspose2D,
    /// `upsampled_flowM_to_N`.
    upsample_flow: nn::ConvTranspose2D,
    /// `predict_flowM`: the coarser level's flow.
    predict_coarser: nn::Conv2D,
}

#[derive(Debug)]
pub struct FlowNet {
    patch: i64,
    dilation: i64,
    conv1: ConvBnAct,
    conv2: ConvBnAct,
    conv3: ConvBnAct,
    conv_redir: ConvBnAct,
    conv3_1: ConvBnAct,
    /// conv4, conv4_1, conv5, conv5_1, conv6, conv6_1.
    contracting: Vec<ConvBnAct>,
    /// Levels 5, 4, 3, 2, 1, 0 (coarse to fine).
    refinements: Vec<Refinement>,
    predict_flow0: nn::Conv2D,
}

impl FlowNet {
    pub fn new(path: &nn::Path, config: &MolConfig) -> Self {
        let correlation = config.correlation_channels();
        let features = 2 * config.feature_channels;
        let block = |name: &str, c_in, c_out, kernel, stride| ConvBnAct::new(path / name, c_in, c_out, kernel, stride);
        // (deconv in, deconv out) for levels 5..0; the coarser flow is
        // predicted from the deconv's input.
        let levels = [(5, 1024, 512), (4, 1026, 256), (3, 770, 128), (2, 386, 128), (1, 258, 64), (0, 130, 32)];
        let refinements = levels
            .iter()
            .map(|&(level, c_in, c_out)| Refinement {
                deconv: up_conv(path / format!("deconv{level}") / 0, c_in, c_out),
                upsample_flow: up_conv(path / format!("upsampled_flow{}_to_{level}", level + 1), 2, 2),
                predict_coarser: flow_predictor(path / format!("predict_flow{}", level + 1), c_in),
            })
            .collect();
        Self {
            patch: config.correlation_patch,
            dilation: config.correlation_dilation,
            conv1: block("conv1", 1, 64, 6, 2),
            conv2: block("conv2", 64, 128, 4, 2),
            conv3: block("conv3", 128, 256, 2, 2),
            conv_redir: block("conv_redir", 256, 32, 1, 1),
            conv3_1: block("conv3_1", 32 + correlation + features, 256, 3, 1),
            contracting: vec![
                block("conv4", 256, 512, 3, 2),
                block("conv4_1", 512, 512, 3, 1),
                block("conv5", 512, 512, 3, 2),
                block("conv5_1", 512, 512, 3, 1),
                block("conv6", 512, 1024, 3, 2),
                block("conv6_1", 1024, 1024, 3, 1),
            ],
            refinements,
            // Full resolution: the first frame (1) + deconv0 (32) + flow (2).
            predict_flow0: flow_predictor(path / "predict_flow0", 35),
        }
    }

    /// Encoder of one raw frame `[B, 1, H, W]`: outputs at 1/2, 1/4, 1/8.
    fn encode(&self, frame: &Tensor, train: bool) -> [Tensor; 3] {
        let half = self.conv1.forward(frame, train);
        let quarter = self.conv2.forward(&half, train);
        let eighth = self.conv3.forward(&quarter, train);
        [half, quarter, eighth]
    }

    /// Raw frames `[B, 1, H, W]` each and both frames' F5C features
    /// `[B, 2C, H/8, W/8]` (first frame's channels first) -> flow `[B, 2, H, W]`.
    pub fn forward(&self, first: &Tensor, second: &Tensor, features: &Tensor, train: bool) -> Tensor {
        // As published, each frame goes through the encoder on its own (so
        // BatchNorm sees one frame's batch at a time).
        let [half, quarter, eighth] = self.encode(first, train);
        let [_, _, eighth_second] = self.encode(second, train);
        let redirected = self.conv_redir.forward(&eighth, train);
        let correlation = correlate(&eighth, &eighth_second, self.patch, self.dilation);
        let joined = Tensor::cat(&[redirected, correlation, features.shallow_clone()], 1);
        let mut x = self.conv3_1.forward(&joined, train);
        // The encoder's output at every scale, fine to coarse: full (the
        // first frame itself), 1/2, 1/4, 1/8, then 1/16, 1/32, 1/64 below.
        let mut skips = vec![first.shallow_clone(), half, quarter, x.shallow_clone()];
        for pair in self.contracting.chunks(2) {
            x = pair[1].forward(&pair[0].forward(&x, train), train);
            skips.push(x.shallow_clone());
        }
        // Refine from the coarsest output, joining the next finer skip at
        // each level (1/32 first, the full-resolution frame last).
        let mut coarse = x;
        for (level, skip) in self.refinements.iter().zip(skips.into_iter().rev().skip(1)) {
            let flow = coarse.apply(&level.predict_coarser);
            let flow_up = crop_like(&flow.apply(&level.upsample_flow), &skip);
            let deconv = crop_like(&leaky_relu(&coarse.apply(&level.deconv)), &skip);
            coarse = Tensor::cat(&[skip, deconv, flow_up], 1);
        }
        coarse.apply(&self.predict_flow0)
    }
}

/// Crops `x` to `target`'s spatial size (the official `crop_like`).
pub(super) fn crop_like(x: &Tensor, target: &Tensor) -> Tensor {
    let (have, want) = (x.size(), target.size());
    if have[2..] == want[2..] {
        x.shallow_clone()
    } else {
        x.narrow(2, 0, want[2]).narrow(3, 0, want[3])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn parameter_count_names_and_output_shape_match_the_official_flownet() {
        let config = MolConfig::official(3).expect("official");
        let vs = nn::VarStore::new(Device::Cpu);
        let flownet = FlowNet::new(&(vs.root() / "flownet"), &config);
        assert_eq!(super::super::trainable_params(&vs), 39_730_282);
        let names = vs.variables();
        for name in [
            "flownet.conv3_1.0.weight",
            "flownet.conv3_1.1.running_var",
            "flownet.deconv0.0.weight",
            "flownet.upsampled_flow6_to_5.weight",
            "flownet.predict_flow6.weight",
            "flownet.predict_flow0.weight",
        ] {
            assert!(names.contains_key(name), "missing {name}");
        }
        assert_eq!(names["flownet.conv3_1.0.weight"].size(), vec![256, 729, 3, 3]);
        assert_eq!(names["flownet.deconv4.0.weight"].size(), vec![1026, 256, 4, 4]);
        let frames = Tensor::rand([1, 1, 128, 128], (Kind::Float, Device::Cpu));
        let features = Tensor::randn([1, 256, 16, 16], (Kind::Float, Device::Cpu));
        let flow = tch::no_grad(|| flownet.forward(&frames, &frames.flip([3]), &features, false));
        assert_eq!(flow.size(), vec![1, 2, 128, 128]);
    }
}
