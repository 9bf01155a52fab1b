//! The micro-expression head (official `MER_3dCNN`): the F5C features of all
//! pairs, stacked along a last "time" axis in the order first0, second0,
//! first1, second1, ..., go through one 3-D convolution (k 2x2x5, stride
//! 2x2x1), a 2x2x2 max-pool, dropout, and two linear layers. MOL-lite's
//! other inputs (`MerInput::Differences`, `Flow`: one map per pair) go
//! through a BatchNorm over their channels first.
use tch::{nn, Tensor};

use super::MolConfig;

const CONV_CHANNELS: i64 = 32;
const TIME_KERNEL: i64 = 5;
/// `nn.Dropout()`'s default.
const DROPOUT: f64 = 0.5;

#[derive(Debug)]
pub struct MerHead {
    /// Present for every input but the official F5C features.
    input_norm: Option<nn::BatchNorm>,
    conv3d: nn::Conv3D,
    fc1: nn::Linear,
    fc2: nn::Linear,
}

impl MerHead {
    pub fn new(path: &nn::Path, config: &MolConfig) -> Self {
        let channels = config.mer_input.channels(config.feature_channels);
        let (conv_init, conv_bias_init) = super::torch_default(channels * 2 * 2 * TIME_KERNEL);
        let conv_config = nn::ConvConfigND::<[i64; 3]> {
            stride: [2, 2, 1],
            padding: [0, 0, 0],
            dilation: [1, 1, 1],
            groups: 1,
            bias: true,
            ws_init: conv_init,
            bs_init: conv_bias_init,
            padding_mode: nn::PaddingMode::Zeros,
        };
        let input_norm = (!config.mer_input.is_features()).then(|| {
            let norm = nn::BatchNormConfig {
                ws_init: nn::Init::Const(1.0),
                bs_init: nn::Init::Const(0.0),
                ..Default::default()
            };
            nn::batch_norm3d(path / "input_norm", channels, norm)
        });
        Self {
            input_norm,
            conv3d: nn::conv(path / "conv3d", channels, CONV_CHANNELS, [2, 2, TIME_KERNEL], conv_config),
            fc1: nn::linear(
                path / "fc1",
                Self::flat_features(config),
                256,
                super::torch_linear(Self::flat_features(config)),
            ),
            fc2: nn::linear(path / "fc2", 256, config.num_classes(), super::torch_linear(256)),
        }
    }

    /// Inputs to `fc1`: 2560 for the official sizes (32 x 4 x 4 x 5).
    pub fn flat_features(config: &MolConfig) -> i64 {
        let side = (config.feature_side() - 2) / 2 + 1; // conv, stride 2
        let time = config.mer_input.steps(config.pairs()) - TIME_KERNEL + 1; // conv, stride 1
        CONV_CHANNELS * (side / 2) * (side / 2) * (time / 2) // 2x2x2 pool
    }

    /// `[B, C, S, S, steps]` -> class logits `[B, classes]` (`MerInput`'s
    /// channels and steps).
    pub fn forward(&self, stacked: &Tensor, train: bool) -> Tensor {
        let normed = match &self.input_norm {
            Some(norm) => stacked.apply_t(norm, train),
            None => stacked.shallow_clone(),
        };
        normed
            .apply(&self.conv3d)
            .max_pool3d([2, 2, 2], [2, 2, 2], [0, 0, 0], [1, 1, 1], false)
            .dropout(DROPOUT, train)
            .flatten(1, -1)
            .apply(&self.fc1)
            .relu()
            .dropout(DROPOUT, train)
            .apply(&self.fc2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn parameter_count_and_logit_shape() {
        for (classes, params) in [(3usize, 738_339i64), (5, 738_339 + 2 * 257)] {
            let config = MolConfig::official(classes).expect("official");
            assert_eq!(MerHead::flat_features(&config), 2560);
            let vs = nn::VarStore::new(Device::Cpu);
            let head = MerHead::new(&(vs.root() / "mer_3dcnn"), &config);
            assert_eq!(super::super::trainable_params(&vs), params);
            let stacked = Tensor::randn([2, 128, 16, 16, 14], (Kind::Float, Device::Cpu));
            assert_eq!(head.forward(&stacked, true).size(), vec![2, classes as i64]);
        }
    }

    #[test]
    fn lite_inputs_one_map_per_pair_with_their_own_counts() {
        use super::super::MerInput;
        // Lite features: 14 maps of 64 x 8 x 8 -> 32 x 2 x 2 x 5 = 640 into fc1.
        // Seven maps (differences, flow) -> 32 x 2 x 2 x 1 = 128.
        for (input, channels, steps, flat, params) in [
            (MerInput::Features, 64, 14, 640, 64 * 20 * 32 + 32 + 640 * 256 + 256 + 257 * 3),
            (MerInput::Differences, 64, 7, 128, 2 * 64 + 64 * 20 * 32 + 32 + 128 * 256 + 256 + 257 * 3),
            (MerInput::Flow, 2, 7, 128, 2 * 2 + 2 * 20 * 32 + 32 + 128 * 256 + 256 + 257 * 3),
        ] {
            let config = MolConfig { mer_input: input, ..MolConfig::lite() };
            assert_eq!(MerHead::flat_features(&config), flat, "{input:?}");
            let vs = nn::VarStore::new(Device::Cpu);
            let head = MerHead::new(&(vs.root() / "mer_3dcnn"), &config);
            assert_eq!(super::super::trainable_params(&vs), params, "{input:?}");
            let stacked = Tensor::randn([3, channels, 8, 8, steps], (Kind::Float, Device::Cpu));
            assert_eq!(head.forward(&stacked, true).size(), vec![3, 3], "{input:?}");
        }
    }
}
