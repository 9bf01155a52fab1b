//! A MOL with its own variable store on one device: checks the input's
//! shape, counts parameters, and saves and loads its weights (safetensors,
//! the config RON beside them, every tensor checked against the
//! architecture before use, as EPIR's).
use std::path::{Path, PathBuf};

use tch::{nn, Device, Tensor};

use super::{trainable_params, Mol, MolConfig, MolConfigError, MolOutput};
use crate::files::{write_atomic, write_atomic_with, AtomicWithError, WriteError};
use crate::model::epir_model::{first_line, mismatches};

#[derive(Debug, thiserror::Error)]
pub enum MolError {
    #[error(transparent)]
    Config(#[from] MolConfigError),
    #[error(
        "MOL input has shape {found:?}, expected [batch, {frames}, 1, {side}, {side}] or [batch, {frames}, {side}, {side}]"
    )]
    InputShape { found: Vec<i64>, frames: i64, side: i64 },
    #[error("cannot read MOL weights {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("MOL weights {path} do not fit the architecture in {config}: {problems}")]
    Mismatch { path: PathBuf, config: PathBuf, problems: String },
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("cannot write MOL weights {path}: {message}")]
    WriteWeights { path: PathBuf, message: String },
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
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

    /// Reads `weights` and the config RON beside them (`path_beside`).
    pub fn load(weights: &Path, device: Device) -> Result<Self, MolError> {
        if !weights.is_file() {
            return Err(MolError::Read { path: weights.to_path_buf(), message: "no such file".into() });
        }
        let config_path = Self::config_beside(weights);
        let config = MolConfig::load(&config_path)?;
        let mut model = Self::new(config, device)?;
        let read_error = |e: tch::TchError| MolError::Read { path: weights.to_path_buf(), message: first_line(&e.to_string()) };
        let stored = Tensor::read_safetensors(weights).map_err(read_error)?;
        let problems = mismatches(&model.vars, &stored);
        if !problems.is_empty() {
            return Err(MolError::Mismatch { path: weights.to_path_buf(), config: config_path, problems: problems.join("; ") });
        }
        model.vars.load(weights).map_err(read_error)?;
        Ok(model)
    }

    /// Writes the weights (safetensors; BatchNorm running statistics
    /// included) and the config RON beside them, each atomically.
    pub fn save(&self, weights: &Path) -> Result<(), MolError> {
        write_atomic_with(weights, |tmp| self.vars.save(tmp)).map_err(|e| match e {
            AtomicWithError::Io(io) => MolError::Write(io),
            AtomicWithError::Writer(err) => {
                MolError::WriteWeights { path: weights.to_path_buf(), message: first_line(&err.to_string()) }
            }
        })?;
        write_atomic(&Self::config_beside(weights), self.config.to_ron()?.as_bytes())?;
        Ok(())
    }

    /// `mol-lite-megc2019.safetensors` -> `mol-lite-megc2019.ron`.
    pub fn config_beside(weights: &Path) -> PathBuf {
        weights.with_extension("ron")
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

    /// With `MerInput::Differences` two different faces, each held still
    /// for the whole clip, get the same logits (the MER head sees zeros);
    /// with the official features they do not, and motion changes them.
    #[test]
    fn difference_input_cancels_a_still_face() {
        use crate::model::mol::MerInput;
        let still = |seed: i64| {
            tch::manual_seed(seed);
            Tensor::rand([1, 1, 64, 64], (Kind::Float, Device::Cpu)).expand([1, 8, 64, 64], false).contiguous()
        };
        let (a, b) = (still(1), still(2));
        tch::manual_seed(7);
        let moving = Tensor::rand([1, 8, 64, 64], (Kind::Float, Device::Cpu));
        let logits = |model: &MolModel, frames: &Tensor| {
            tch::no_grad(|| model.forward(frames, false)).expect("forward").class_logits
        };
        let gap = |x: &Tensor, y: &Tensor| f64::try_from((x - y).abs().max()).expect("tensor values on the host");
        for (input, still_gap_is_zero) in [(MerInput::Differences, true), (MerInput::Features, false)] {
            tch::manual_seed(3);
            let model = MolModel::new(MolConfig { mer_input: input, ..MolConfig::lite() }, Device::Cpu).expect("model");
            let (la, lb, lm) = (logits(&model, &a), logits(&model, &b), logits(&model, &moving));
            assert_eq!(gap(&la, &lb) == 0.0, still_gap_is_zero, "{input:?}: {la} vs {lb}");
            assert!(gap(&la, &lm) > 1e-6, "{input:?}: motion left the logits unchanged");
        }
    }

    #[test]
    fn lite_variants_output_shapes_and_mer_head_sizes() {
        use crate::model::mol::MerInput;
        // The official features' MER head is 205,859 of 988,003.
        for input in [MerInput::Differences, MerInput::Flow] {
            let model = MolModel::new(MolConfig { mer_input: input, ..MolConfig::lite() }, Device::Cpu).expect("model");
            let mer = crate::model::mol::mer_head::MerHead::flat_features(&model.config);
            assert_eq!(mer, 128, "{input:?}");
            let frames = Tensor::rand([2, 8, 64, 64], (Kind::Float, Device::Cpu));
            let out = model.forward(&frames, true).expect("forward");
            assert_eq!(out.class_logits.size(), vec![2, 3]);
            assert_eq!(out.flows.size(), vec![2, 7, 2, 64, 64]);
            assert_eq!(out.landmarks.size(), vec![2, 7, 136]);
        }
        let official = MolConfig { mer_input: MerInput::Differences, ..MolConfig::official(3).expect("official") };
        let message = official.validate().expect_err("per-pair path").to_string();
        assert!(message.contains("pairs_in_one_batch"), "{message}");
    }

    #[test]
    fn save_then_load_gives_identical_outputs_and_names_a_missing_file() {
        let dir = crate::files::scratch_dir("mol-weights");
        let path = dir.join("mol-lite.safetensors");
        tch::manual_seed(3);
        let model = MolModel::new(MolConfig::lite(), Device::Cpu).expect("model");
        model.save(&path).expect("save");
        let loaded = MolModel::load(&path, Device::Cpu).expect("load");
        assert_eq!(loaded.config, model.config);
        let frames = Tensor::rand([1, 8, 64, 64], (Kind::Float, Device::Cpu));
        let (a, b) = tch::no_grad(|| {
            (model.forward(&frames, false).expect("forward"), loaded.forward(&frames, false).expect("forward"))
        });
        assert!(a.class_logits.equal(&b.class_logits) && a.landmarks.equal(&b.landmarks) && a.flows.equal(&b.flows));
        let missing = dir.join("absent.safetensors");
        let message = MolModel::load(&missing, Device::Cpu).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("absent.safetensors"), "{message}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn official_layout_puts_time_second() {
        let official = Tensor::arange(2 * 3 * 4 * 5, (Kind::Float, Device::Cpu)).reshape([1, 1, 3, 4, 10]);
        let ours = from_official_layout(&official);
        assert_eq!(ours.size(), vec![1, 10, 1, 3, 4]);
        assert_eq!(ours.double_value(&[0, 7, 0, 2, 1]), official.double_value(&[0, 0, 2, 1, 7]));
    }
}
