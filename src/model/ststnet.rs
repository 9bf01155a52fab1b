//! STSTNet, the shallow triple-stream CNN of Liong et al. (FG 2019), as a
//! baseline trained and scored by the same LOSO harness as EPIR.
//!
//! Reproduced from the authors' PyTorch port (christy1206/STSTNet, `main.py`):
//!
//! - three streams, each a 3x3 convolution (padding 2) over **all three**
//!   input channels with 3, 5 and 8 filters: the streams differ in width,
//!   not in the channel they read (28x28 -> 30x30);
//! - in each stream: ReLU, then BatchNorm, then 3x3 max-pool with stride 3
//!   and padding 1 (30x30 -> 10x10), then dropout 0.5;
//! - the 16 maps concatenated, 2x2 average pool with stride 2 (-> 5x5), the
//!   400 values flattened channel-major into one fully connected layer to
//!   the 3 classes: 1,683 parameters in all.
//!
//! Initialisation is PyTorch's default (what `reset_parameters` gives):
//! weights and biases uniform in +-1/sqrt(fan-in), BatchNorm gains 1 and
//! shifts 0. (tch's own defaults differ: Kaiming-ReLU weights, zero conv
//! biases, BatchNorm gains uniform in 0..1.)
//!
//! The input is the flow image as `cv2.imread` gives it: 8-bit values 0..255,
//! not normalised ([`INPUT_SCALE`] times our 0..1 flow). Every stream sees
//! every channel, so their order does not change the network.
use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

use super::input::{INPUT_CHANNELS, INPUT_SIDE};

/// Which network a LOSO run trains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Architecture {
    /// EPIR (the shipped model), with the recipe in `TrainOptions`.
    #[default]
    Epir,
    /// The STSTNet baseline with the official recipe ([`StstnetRecipe`]).
    Ststnet,
    /// MOL-lite (`model::mol`, `MolConfig::lite`) on rendered clips
    /// (`train::mol_trainer`).
    MolLite,
}

impl Architecture {
    pub fn is_epir(&self) -> bool {
        *self == Architecture::Epir
    }
}

/// Filters of the three streams.
pub const STREAM_FILTERS: [i64; 3] = [3, 5, 8];
/// The official code's input scale: 8-bit pixel values, as read from PNG.
pub const INPUT_SCALE: f64 = 255.0;
/// Parameters of the official network for 3 classes.
pub const OFFICIAL_PARAMETERS: i64 = 1_683;
const DROPOUT: f64 = 0.5;

/// The official training recipe (`main.py`): Adam (no weight decay) at a
/// constant 5e-5, mini-batches of 256 in a fixed order (the `DataLoader`
/// does not shuffle; the folders list the samples class by class), plain
/// cross-entropy, 800 epochs, the last epoch's model scored.
pub struct StstnetRecipe;

impl StstnetRecipe {
    pub const LEARNING_RATE: f64 = 5e-5;
    pub const BATCH_SIZE: usize = 256;
    pub const EPOCHS: usize = 800;
}

#[derive(Debug)]
pub struct Ststnet {
    streams: Vec<(nn::Conv2D, nn::BatchNorm)>,
    fc: nn::Linear,
}

fn uniform(fan_in: i64) -> nn::Init {
    let bound = 1.0 / (fan_in as f64).sqrt();
    nn::Init::Uniform { lo: -bound, up: bound }
}

impl Ststnet {
    pub fn new(path: &nn::Path, classes: i64) -> Self {
        let channels = INPUT_CHANNELS as i64;
        let conv_fan_in = channels * 3 * 3;
        let streams = STREAM_FILTERS
            .iter()
            .enumerate()
            .map(|(i, &filters)| {
                let conv = nn::conv2d(
                    path / format!("conv{}", i + 1),
                    channels,
                    filters,
                    3,
                    nn::ConvConfig {
                        padding: 2,
                        ws_init: uniform(conv_fan_in),
                        bs_init: uniform(conv_fan_in),
                        ..Default::default()
                    },
                );
                let norm = nn::batch_norm2d(
                    path / format!("bn{}", i + 1),
                    filters,
                    nn::BatchNormConfig {
                        ws_init: nn::Init::Const(1.0),
                        bs_init: nn::Init::Const(0.0),
                        ..Default::default()
                    },
                );
                (conv, norm)
            })
            .collect();
        let features = Self::features();
        let fc = nn::linear(
            path / "fc",
            features,
            classes,
            nn::LinearConfig { ws_init: uniform(features), bs_init: Some(uniform(features)), bias: true },
        );
        Self { streams, fc }
    }

    /// Values entering the fully connected layer: 16 maps of 5x5.
    pub fn features() -> i64 {
        let side = INPUT_SIDE as i64 + 2 * 2 - 3 + 1; // conv, padding 2: 30
        let side = (side + 2 - 3) / 3 + 1; // max-pool 3, stride 3, padding 1: 10
        let side = side / 2; // average pool 2, stride 2: 5
        STREAM_FILTERS.iter().sum::<i64>() * side * side
    }

    /// `[B, 3, 28, 28]` on the official scale (0..255) -> logits `[B, classes]`.
    /// `dropout` holds the keep masks scaled by 1/(1-p) for training (one per
    /// stream, shaped as its pooled maps: see [`Ststnet::dropout_shapes`]);
    /// `None` is evaluation (no dropout, BatchNorm's running statistics).
    pub fn forward(&self, x: &Tensor, dropout: Option<&[Tensor]>) -> Tensor {
        let train = dropout.is_some();
        let maps: Vec<Tensor> = self
            .streams
            .iter()
            .enumerate()
            .map(|(i, (conv, norm))| {
                let y = x.apply(conv).relu().apply_t(norm, train).max_pool2d([3, 3], [3, 3], [1, 1], [1, 1], false);
                match dropout {
                    Some(masks) => y * &masks[i],
                    None => y,
                }
            })
            .collect();
        Tensor::cat(&maps, 1)
            .avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None::<i64>)
            .flatten(1, -1)
            .apply(&self.fc)
    }

    /// The shapes of the dropout masks for a batch of `batch`.
    pub fn dropout_shapes(batch: i64) -> Vec<[i64; 4]> {
        STREAM_FILTERS.iter().map(|&f| [batch, f, 10, 10]).collect()
    }

    /// Inverted-dropout masks: each element kept with probability 1 - p
    /// (`keep` says, one fair coin each as p = 0.5) and scaled by 1/(1-p), as
    /// torch's dropout; the coins come from the caller's generator, not
    /// libtorch's global one, so parallel folds stay reproducible.
    pub fn dropout_masks(batch: i64, mut keep: impl FnMut() -> bool, device: tch::Device) -> Vec<Tensor> {
        let scale = (1.0 / (1.0 - DROPOUT)) as f32;
        Self::dropout_shapes(batch)
            .into_iter()
            .map(|shape| {
                let count = shape.iter().product::<i64>() as usize;
                let values: Vec<f32> = (0..count).map(|_| if keep() { scale } else { 0.0 }).collect();
                Tensor::from_slice(&values).reshape(shape).to_kind(Kind::Float).to_device(device)
            })
            .collect()
    }
}

/// Trainable parameters of a variable store.
pub fn parameter_count(vars: &nn::VarStore) -> i64 {
    vars.trainable_variables().iter().map(|t| t.numel() as i64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn the_official_layout_has_1683_parameters_and_three_logits() {
        let vars = nn::VarStore::new(Device::Cpu);
        let net = Ststnet::new(&vars.root(), 3);
        // conv 3*27+3 + 5*27+5 + 8*27+8 = 448, BatchNorm 2*16 = 32, fc 400*3+3 = 1,203.
        assert_eq!(Ststnet::features(), 400);
        assert_eq!(parameter_count(&vars), OFFICIAL_PARAMETERS);
        let names: Vec<String> = {
            let mut n: Vec<String> = vars.variables().into_keys().collect();
            n.sort();
            n
        };
        assert!(names.contains(&"conv3.weight".to_string()) && names.contains(&"bn1.running_mean".to_string()));
        assert_eq!(vars.variables()["conv2.weight"].size(), vec![5, 3, 3, 3]);
        assert_eq!(vars.variables()["fc.weight"].size(), vec![3, 400]);
        // PyTorch's initialisation: BatchNorm gain 1, weights within 1/sqrt(fan-in).
        let gain = f64::try_from(vars.variables()["bn2.weight"].mean(Kind::Float)).expect("scalar");
        assert_eq!(gain, 1.0);
        let largest = f64::try_from(vars.variables()["conv1.weight"].abs().max()).expect("scalar");
        assert!(largest <= 1.0 / 27f64.sqrt() + 1e-6, "{largest}");

        let x = Tensor::rand([4, 3, 28, 28], (Kind::Float, Device::Cpu)) * INPUT_SCALE;
        let eval = net.forward(&x, None);
        assert_eq!(eval.size(), vec![4, 3]);
        // Evaluation is deterministic (a training pass would move BatchNorm's running statistics).
        let again = net.forward(&x, None);
        assert!(f64::try_from((eval - again).abs().max()).expect("scalar") == 0.0);
        let masks = Ststnet::dropout_masks(4, || true, Device::Cpu);
        assert_eq!(masks[2].size(), vec![4, 8, 10, 10]);
        assert_eq!(net.forward(&x, Some(&masks)).size(), vec![4, 3]);
        // All kept, at scale 1/(1-p) = 2.
        assert_eq!(f64::try_from(masks[0].mean(Kind::Float)).expect("scalar"), 2.0);
    }
}
