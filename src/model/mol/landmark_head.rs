//! The landmark head (official `LDM_predictor`), on the second frame's F5C
//! features of each pair: 3x3 conv 128 -> 32 (no padding), ReLU, linear to
//! 512, ReLU, linear to 136 = 68 (x, y) points, interleaved x0, y0, x1, ...
//! as the official dataset stores them.
use tch::{nn, Tensor};

use super::MolConfig;

const CONV_CHANNELS: i64 = 32;

#[derive(Debug)]
pub struct LandmarkHead {
    convldm: nn::Conv2D,
    fc1: nn::Linear,
    fc2: nn::Linear,
}

impl LandmarkHead {
    pub fn new(path: &nn::Path, config: &MolConfig) -> Self {
        let side = config.feature_side() - 2;
        let flat = CONV_CHANNELS * side * side;
        let conv_config = super::torch_conv(config.feature_channels * 3 * 3, 1, 0);
        Self {
            convldm: nn::conv2d(path / "convldm", config.feature_channels, CONV_CHANNELS, 3, conv_config),
            fc1: nn::linear(path / "fc1", flat, 512, super::torch_linear(flat)),
            fc2: nn::linear(path / "fc2", 512, 2 * config.landmarks, super::torch_linear(512)),
        }
    }

    /// `[B, C, S, S]` -> `[B, 2 * landmarks]`. (The official module ends in
    /// `permute(0, 2, 1)`, which fails on this 2-D output; its training code
    /// compares the output with `[B, 136]` targets, so that is the shape.)
    pub fn forward(&self, features: &Tensor) -> Tensor {
        features.apply(&self.convldm).relu().flatten(1, -1).apply(&self.fc1).relu().apply(&self.fc2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn parameter_count_and_output_shape() {
        let config = MolConfig::official(5).expect("official");
        let vs = nn::VarStore::new(Device::Cpu);
        let head = LandmarkHead::new(&(vs.root() / "ldm_predictor"), &config);
        assert_eq!(super::super::trainable_params(&vs), 3_318_440);
        assert_eq!(vs.variables()["ldm_predictor.fc1.weight"].size(), vec![512, 6272]);
        let features = Tensor::randn([2, 128, 16, 16], (Kind::Float, Device::Cpu));
        assert_eq!(head.forward(&features).size(), vec![2, 136]);
    }
}
