//! A MOL with its own variable store on one device: checks the input's
//! shape and counts parameters. (Saving, loading and training come with
//! the later MOL-lite work.)
use tch::{nn, Device, Tensor};

use super::{trainable_params, Mol, MolConfig, MolConfigError, MolOutput};

#[derive(Debug, thiserror::Error)]
pub enum MolError {
    #[error(transparent)]
    Config(#[from] MolConfigError),
    #[error(
        "MOL input has shape {found:?}, expected [batch, {frames}, 1, {side}, {side}] or [batch, {frames}, {side}, {side}]"
    )]
    InputShape { found: Vec<i64>, frames: i64, side: i64 },
}

pub struct MolModel {
    pub config: MolConfig,
    pub device: Device,
    pub vars: nn::VarStore,
    pub net: Mol,
}

impl MolModel {
    /// A freshly initialised model (initialisation uses libtorch's global RNG).
    pub fn new(config: MolConfig, device: Device) -> Result<Self, MolError> {
        let vars = nn::VarStore::new(device);
        let net = Mol::new(&vars.root(), &config)?;
        Ok(Self { config, device, vars, net })
    }

    /// Trainable parameters, as PyTorch counts them.
    pub fn param_count(&self) -> i64 {
        trainable_params(&self.vars)
    }

    /// Frames `[B, T, 1, H, W]` or `[B, T, H, W]`, on the model's device ->
    /// logits `[B, classes]`, flows `[B, T-1, 2, H, W]`, landmarks
    /// `[B, T-1, 136]`.
    pub fn forward(&self, frames: &Tensor, train: bool) -> Result<MolOutput, MolError> {
        Ok(self.net.forward(&self.checked_frames(frames)?, train))
    }

    /// `[B, T, 1, H, W]` or `[B, T, H, W]` -> `[B, T, 1, H, W]`, or the
    /// shape error if T, H or W differ from the config.
    pub fn checked_frames(&self, frames: &Tensor) -> Result<Tensor, MolError> {
        let (count, side) = (self.config.frames, self.config.image_size);
        let found = frames.size();
        match found.as_slice() {
            [_, t, 1, h, w] if (*t, *h, *w) == (count, side, side) => Ok(frames.shallow_clone()),
            [_, t, h, w] if (*t, *h, *w) == (count, side, side) => Ok(frames.unsqueeze(2)),
            _ => Err(MolError::InputShape { found, frames: count, side }),
        }
    }
}

/// The official input layout `[B, 1, H, W, T]` -> `[B, T, 1, H, W]`.
pub fn from_official_layout(frames: &Tensor) -> Tensor {
    frames.permute([0, 4, 1, 2, 3])
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn parameter_counts_match_the_official_model() {
        for (classes, expected) in [(3usize, 44_104_865i64), (5, 44_105_379)] {
            let model = MolModel::new(MolConfig::official(classes).expect("official"), Device::Cpu).expect("model");
            assert_eq!(model.param_count(), expected, "{classes} classes");
        }
    }

    /// One full forward pass at batch 1 (the slowest test here, ~10-20 s
    /// on two busy cores).
    #[test]
    fn forward_gives_the_official_output_shapes_and_refuses_other_inputs() {
        let model = MolModel::new(MolConfig::official(5).expect("official"), Device::Cpu).expect("model");
        let frames = Tensor::rand([1, 8, 128, 128], (Kind::Float, Device::Cpu));
        let out = tch::no_grad(|| model.forward(&frames, false)).expect("forward");
        assert_eq!(out.class_logits.size(), vec![1, 5]);
        assert_eq!(out.flows.size(), vec![1, 7, 2, 128, 128]);
        assert_eq!(out.landmarks.size(), vec![1, 7, 136]);
        for t in [&out.class_logits, &out.flows, &out.landmarks] {
            assert!(bool::try_from(t.isfinite().all()).expect("tensor values on the host"));
        }
        // Both layouts reach the net as [B, T, 1, H, W] with the same values.
        let five = model.checked_frames(&frames.unsqueeze(2)).expect("5-D input");
        let four = model.checked_frames(&frames).expect("4-D input");
        assert_eq!(four.size(), vec![1, 8, 1, 128, 128]);
        assert!(four.equal(&five));
        let wrong = Tensor::rand([1, 7, 128, 128], (Kind::Float, Device::Cpu));
        let message = model.forward(&wrong, false).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("[1, 7, 128, 128]"), "{message}");
    }

    #[test]
    fn lite_parameter_count_and_output_shapes() {
        let model = MolModel::new(MolConfig::lite(), Device::Cpu).expect("model");
        // Conv stack 14,888, two F5Cs 2 x (FCC 2,754 + CCC 8,320), MER head
        // 205,859, landmark head 678,568, lite flow 66,540.
        assert_eq!(model.param_count(), 988_003);
        let frames = Tensor::rand([2, 8, 64, 64], (Kind::Float, Device::Cpu));
        let out = model.forward(&frames, true).expect("forward");
        assert_eq!(out.class_logits.size(), vec![2, 3]);
        assert_eq!(out.flows.size(), vec![2, 7, 2, 64, 64]);
        assert_eq!(out.landmarks.size(), vec![2, 7, 136]);
        let message = model.forward(&Tensor::rand([2, 8, 128, 128], (Kind::Float, Device::Cpu)), false);
        let message = message.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("[batch, 8, 1, 64, 64]"), "{message}");
    }

    #[test]
    fn official_layout_puts_time_second() {
        let official = Tensor::arange(2 * 3 * 4 * 5, (Kind::Float, Device::Cpu)).reshape([1, 1, 3, 4, 10]);
        let ours = from_official_layout(&official);
        assert_eq!(ours.size(), vec![1, 10, 1, 3, 4]);
        assert_eq!(ours.double_value(&[0, 7, 0, 2, 1]), official.double_value(&[0, 0, 2, 1, 7]));
    }
}
