//! MOL-lite's optical-flow head: FlowNetC's design cut to the levels a
//! small, smooth flow needs. A shared encoder (three stride-2 ConvBnActs
//! with `w/2`, `w`, `w` channels) runs on each raw frame; at 1/8 resolution
//! the first frame's 1x1 redirect (`w/2`), the correlation of both
//! encodings and both frames' F5C features are joined by one 3x3 ConvBnAct
//! to `2w` channels. One refinement level as in FlowNetC (a coarse flow
//! predicted from the joint features, it and the features upsampled by
//! learned 4x4 transposed convolutions, joined with the encoder's 1/4
//! output) and a 3x3 convolution predict the flow at 1/4 resolution, in
//! full-resolution pixels, which is upsampled bilinearly to full size.
//!
//! Why 1/4 and bilinear: FlowNetC's full-resolution levels cost most of its
//! arithmetic, and the flow MOL-lite learns is smooth by construction (its
//! targets are TV-L1 flows stored at 28 x 28, `train::mol_sequences`), so a
//! 16 x 16 prediction holds all of its detail at 64 x 64.
use tch::{nn, Tensor};

use super::correlation::correlate;
use super::flownet::{crop_like, flow_predictor, up_conv, ConvBnAct};
use super::{leaky_relu, MolConfig};

#[derive(Debug)]
pub struct LiteFlow {
    patch: i64,
    dilation: i64,
    conv1: ConvBnAct,
    conv2: ConvBnAct,
    conv3: ConvBnAct,
    conv_redir: ConvBnAct,
    joint: ConvBnAct,
    predict_flow3: nn::Conv2D,
    upsampled_flow3_to_2: nn::ConvTranspose2D,
    deconv2: nn::ConvTranspose2D,
    predict_flow2: nn::Conv2D,
}

impl LiteFlow {
    pub fn new(path: &nn::Path, config: &MolConfig, width: i64) -> Self {
        let w = width;
        let correlation = config.correlation_channels();
        let features = 2 * config.feature_channels;
        let block = |name: &str, c_in, c_out, kernel, stride| ConvBnAct::new(path / name, c_in, c_out, kernel, stride);
        Self {
            patch: config.correlation_patch,
            dilation: config.correlation_dilation,
            conv1: block("conv1", 1, w / 2, 3, 2),
            conv2: block("conv2", w / 2, w, 3, 2),
            conv3: block("conv3", w, w, 3, 2),
            conv_redir: block("conv_redir", w, w / 2, 1, 1),
            joint: block("joint", w / 2 + correlation + features, 2 * w, 3, 1),
            predict_flow3: flow_predictor(path / "predict_flow3", 2 * w),
            upsampled_flow3_to_2: up_conv(path / "upsampled_flow3_to_2", 2, 2),
            deconv2: up_conv(path / "deconv2", 2 * w, w),
            // The 1/4 encoder output (w), the deconvolution (w), the flow (2).
            predict_flow2: flow_predictor(path / "predict_flow2", 2 * w + 2),
        }
    }

    fn encode(&self, frame: &Tensor, train: bool) -> (Tensor, Tensor) {
        let quarter = self.conv2.forward(&self.conv1.forward(frame, train), train);
        let eighth = self.conv3.forward(&quarter, train);
        (quarter, eighth)
    }

    /// Raw frames `[B, 1, H, W]` each and both frames' F5C features
    /// `[B, 2C, H/8, W/8]` -> flow `[B, 2, H, W]`.
    pub fn forward(&self, first: &Tensor, second: &Tensor, features: &Tensor, train: bool) -> Tensor {
        let size = first.size();
        let (quarter, eighth) = self.encode(first, train);
        let (_, eighth_second) = self.encode(second, train);
        let correlation = correlate(&eighth, &eighth_second, self.patch, self.dilation);
        let joined = Tensor::cat(&[self.conv_redir.forward(&eighth, train), correlation, features.shallow_clone()], 1);
        let coarse = self.joint.forward(&joined, train);
        let flow_up = crop_like(&coarse.apply(&self.predict_flow3).apply(&self.upsampled_flow3_to_2), &quarter);
        let deconv = crop_like(&leaky_relu(&coarse.apply(&self.deconv2)), &quarter);
        let flow = Tensor::cat(&[quarter, deconv, flow_up], 1).apply(&self.predict_flow2);
        flow.upsample_bilinear2d([size[2], size[3]], false, None, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn lite_flow_parameter_count_and_output_shape() {
        let config = MolConfig::lite();
        let vs = nn::VarStore::new(Device::Cpu);
        let flow = LiteFlow::new(&(vs.root() / "flownet"), &config, 16);
        // Convolutions without bias, BatchNorm gain + shift: conv1 72+16,
        // conv2 1,152+32, conv3 2,304+32, redirect 128+16, joint
        // 32*(8+49+128)*9+64 = 53,344; predict_flow3 32*2*9 = 576, its
        // upsampler 2*2*16 = 64, deconv2 32*16*16 = 8,192, predict_flow2
        // 34*2*9 = 612.
        assert_eq!(super::super::trainable_params(&vs), 66_540);
        let frames = Tensor::rand([2, 1, 64, 64], (Kind::Float, Device::Cpu));
        let features = Tensor::randn([2, 128, 8, 8], (Kind::Float, Device::Cpu));
        let out = flow.forward(&frames, &frames.flip([3]), &features, true);
        assert_eq!(out.size(), vec![2, 2, 64, 64]);
    }
}
