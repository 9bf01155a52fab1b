//! A trained EPIR: its variables, config and device, saved as safetensors
//! with the config RON beside it, and loaded back with every tensor checked
//! against the architecture before use.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tch::{nn, Device, Kind, Tensor};

use super::input::{mirror_normalised, normalise_input};
use super::{ConfigError, Epir, EpirConfig};
use crate::files::{write_atomic, write_atomic_with, AtomicWithError, WriteError};

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot read weights {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("weights {path} do not fit the architecture in {config}: {problems}")]
    Mismatch { path: PathBuf, config: PathBuf, problems: String },
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("cannot write weights {path}: {message}")]
    WriteWeights { path: PathBuf, message: String },
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    #[error("input batch has shape {found:?}, expected [batch, {channels}, {side}, {side}]")]
    InputShape { found: Vec<i64>, channels: i64, side: i64 },
}

/// An EPIR with its own variable store, on one device.
pub struct EpirModel {
    pub config: EpirConfig,
    pub device: Device,
    pub vars: nn::VarStore,
    pub net: Epir,
}

/// Class probabilities and attention for one input.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    pub class: usize,
    pub probabilities: Vec<f32>,
    /// Row-major attention over the input patch grid, summing to one.
    pub attention: Vec<f32>,
}

impl EpirModel {
    /// A freshly initialised model (initialisation uses libtorch's global RNG).
    pub fn new(config: EpirConfig, device: Device) -> Result<Self, ModelError> {
        let vars = nn::VarStore::new(device);
        let net = Epir::new(&vars.root(), &config)?;
        Ok(Self { config, device, vars, net })
    }

    /// Reads `weights` and the config RON beside it.
    pub fn load(weights: &Path, device: Device) -> Result<Self, ModelError> {
        if !weights.is_file() {
            return Err(ModelError::Read { path: weights.to_path_buf(), message: "no such file".into() });
        }
        let config_path = EpirConfig::path_beside(weights);
        let config = EpirConfig::load(&config_path)?;
        let mut model = Self::new(config, device)?;
        let stored = Tensor::read_safetensors(weights)
            .map_err(|e| ModelError::Read { path: weights.to_path_buf(), message: first_line(&e.to_string()) })?;
        let problems = mismatches(&model.vars, &stored);
        if !problems.is_empty() {
            return Err(ModelError::Mismatch {
                path: weights.to_path_buf(),
                config: config_path,
                problems: problems.join("; "),
            });
        }
        model
            .vars
            .load(weights)
            .map_err(|e| ModelError::Read { path: weights.to_path_buf(), message: first_line(&e.to_string()) })?;
        Ok(model)
    }

    /// Writes the weights (safetensors) and the config RON beside them, each
    /// atomically.
    pub fn save(&self, weights: &Path) -> Result<(), ModelError> {
        write_atomic_with(weights, |tmp| self.vars.save(tmp)).map_err(|e| match e {
            AtomicWithError::Io(io) => ModelError::Write(io),
            AtomicWithError::Writer(err) => {
                ModelError::WriteWeights { path: weights.to_path_buf(), message: first_line(&err.to_string()) }
            }
        })?;
        write_atomic(&EpirConfig::path_beside(weights), self.config.to_ron()?.as_bytes())?;
        Ok(())
    }

    pub fn param_count(&self) -> u64 {
        self.vars.variables().values().map(|t| t.numel() as u64).sum()
    }

    /// Class probabilities `[B, classes]` and attention `[B, rows, cols]` for
    /// a normalised batch already on the model's device, without gradients.
    /// With `mirror`, probabilities average the input and its mirror image;
    /// the attention is always the unmirrored pass's. The config's
    /// temperature, fitted by LOSO, calibrates them.
    pub fn probabilities(&self, batch: &Tensor, mirror: bool) -> (Tensor, Tensor) {
        tch::no_grad(|| {
            let out = self.net.forward(batch);
            let mut probabilities = out.logits.softmax(-1, Kind::Float);
            if mirror {
                let mirrored = self.net.forward(&mirror_normalised(batch)).logits.softmax(-1, Kind::Float);
                probabilities = (probabilities + mirrored) * 0.5;
            }
            let temperature = self.config.temperature;
            if temperature != 1.0 {
                probabilities = crate::model::calibrated(&probabilities, temperature);
            }
            (probabilities, out.attention)
        })
    }

    /// Classifies flow images given as CHW floats in 0..1, batched.
    pub fn predict(&self, flows: &[&[f32]]) -> Result<Vec<Prediction>, ModelError> {
        // The flow comes at the input's side; the model resizes it to its own.
        let (channels, side) = (self.config.input_channels(), crate::model::input::INPUT_SIDE as i64);
        let per_image = (channels * side * side) as usize;
        if let Some(bad) = flows.iter().find(|f| f.len() != per_image) {
            return Err(ModelError::InputShape { found: vec![bad.len() as i64], channels, side });
        }
        if flows.is_empty() {
            return Ok(Vec::new());
        }
        let flat: Vec<f32> = flows.iter().flat_map(|f| f.iter().copied()).collect();
        let batch = normalise_input(&Tensor::from_slice(&flat).reshape([flows.len() as i64, channels, side, side]))
            .to_device(self.device);
        let (probabilities, attention) = self.probabilities(&batch, self.config.test_time_mirror);
        let probabilities = to_rows(&probabilities, self.config.num_classes())?;
        let (rows, cols) = self.config.grids()[0];
        let attention = to_rows(&attention.reshape([-1, rows * cols]), rows * cols)?;
        Ok(probabilities
            .into_iter()
            .zip(attention)
            .map(|(probabilities, attention)| {
                let class = argmax(&probabilities);
                Prediction { class, probabilities, attention }
            })
            .collect())
    }
}

pub fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().fold((0, f32::NEG_INFINITY), |best, (i, &v)| if v > best.1 { (i, v) } else { best }).0
}

fn to_rows(tensor: &Tensor, width: i64) -> Result<Vec<Vec<f32>>, tch::TchError> {
    let flat = Vec::<f32>::try_from(tensor.to_device(Device::Cpu).to_kind(Kind::Float).flatten(0, -1))?;
    Ok(flat.chunks(width as usize).map(<[f32]>::to_vec).collect())
}

/// The first line of a libtorch message (the rest is a C++ backtrace).
pub(crate) fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).to_string()
}

/// Stored tensors that do not fit `vars`: missing, unexpected, of the wrong
/// shape or not floating point, as human-readable lines (none: they fit).
/// Shared by every loader of safetensors weights (EPIR, MTCNN).
pub(crate) fn mismatches(vars: &nn::VarStore, stored: &[(String, Tensor)]) -> Vec<String> {
    let expected: BTreeMap<String, Vec<i64>> = vars.variables().into_iter().map(|(name, t)| (name, t.size())).collect();
    let found: BTreeMap<&str, &Tensor> = stored.iter().map(|(name, t)| (name.as_str(), t)).collect();
    let mut problems = Vec::new();
    for (name, shape) in &expected {
        match found.get(name.as_str()) {
            None => problems.push(format!("missing tensor {name} (expected shape {shape:?})")),
            Some(t) if t.size() != *shape => {
                problems.push(format!("tensor {name} has shape {:?}, expected {shape:?}", t.size()))
            }
            Some(t) if !t.is_floating_point() => {
                problems.push(format!("tensor {name} is {:?}, expected floats", t.kind()))
            }
            Some(_) => {}
        }
    }
    for name in found.keys().filter(|n| !expected.contains_key(**n)) {
        problems.push(format!("unexpected tensor {name}"));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        crate::files::scratch_dir(&format!("weights-{tag}"))
    }

    #[test]
    fn save_then_load_gives_identical_predictions() {
        let dir = temp_dir("roundtrip");
        let model = EpirModel::new(EpirConfig::default(), Device::Cpu).expect("model");
        let path = dir.join("epir.safetensors");
        model.save(&path).expect("save");
        assert!(dir.join("epir.ron").exists());
        let loaded = EpirModel::load(&path, Device::Cpu).expect("load");
        let flow: Vec<f32> = (0..3 * 28 * 28).map(|i| ((i * 37) % 101) as f32 / 100.0).collect();
        let a = model.predict(&[&flow]).expect("predict");
        let b = loaded.predict(&[&flow]).expect("predict");
        assert_eq!(a, b);
        assert_eq!(a[0].attention.len(), 49);
        assert!((a[0].probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_32_px_model_reads_the_28_px_flow_and_a_temperature_softens_it() {
        let mut model = EpirModel::new(EpirConfig { image_size: 32, ..Default::default() }, Device::Cpu).expect("model");
        let flow: Vec<f32> = (0..3 * 28 * 28).map(|i| ((i * 37) % 101) as f32 / 100.0).collect();
        let sharp = model.predict(&[&flow]).expect("the 28 px flow is the input at any model side");
        assert_eq!(sharp[0].attention.len(), 64);
        model.config.temperature = 2.0;
        let soft = model.predict(&[&flow]).expect("predict");
        // softmax(log p / T): the same ranking, flatter, still summing to one.
        let expected: Vec<f32> = {
            let scaled: Vec<f32> = sharp[0].probabilities.iter().map(|p| p.sqrt()).collect();
            let total: f32 = scaled.iter().sum();
            scaled.iter().map(|p| p / total).collect()
        };
        for (got, want) in soft[0].probabilities.iter().zip(&expected) {
            assert!((got - want).abs() < 1e-5, "{:?} vs {expected:?}", soft[0].probabilities);
        }
        assert_eq!(soft[0].class, sharp[0].class);
    }

    #[test]
    fn test_time_mirror_averages_the_two_views() {
        let mut model = EpirModel::new(EpirConfig::default(), Device::Cpu).expect("model");
        let flow: Vec<f32> = (0..3 * 28 * 28).map(|i| ((i * 31) % 97) as f32 / 96.0).collect();
        let mirrored = crate::model::input::mirror(&flow);
        let plain = model.predict(&[&flow, &mirrored]).expect("predict");
        model.config.test_time_mirror = true;
        let both = model.predict(&[&flow]).expect("predict");
        for c in 0..3 {
            let mean = (plain[0].probabilities[c] + plain[1].probabilities[c]) / 2.0;
            assert!((both[0].probabilities[c] - mean).abs() < 1e-5);
        }
        // Same unmirrored pass (batch size changes rounding only).
        assert!(both[0].attention.iter().zip(&plain[0].attention).all(|(a, b)| (a - b).abs() < 1e-6));
    }

    #[test]
    fn with_the_apex_stream_the_test_time_mirror_flips_the_crop_with_the_flow() {
        let config = EpirConfig { apex_stream: true, ..Default::default() };
        let mut model = EpirModel::new(config, Device::Cpu).expect("model");
        let input: Vec<f32> = (0..4 * 28 * 28).map(|i| ((i * 31) % 97) as f32 / 96.0).collect();
        let flow_only = &input[..3 * 28 * 28];
        let message = model.predict(&[flow_only]).expect_err("the flow alone is refused").to_string();
        assert!(message.contains("[batch, 4, 28, 28]"), "{message}");
        // The mirror the model averages with is `input::mirror` of all four
        // planes: u negated, v, strain and the grey crop flipped.
        let mirrored = crate::model::input::mirror(&input);
        let plain = model.predict(&[&input, &mirrored]).expect("predict");
        model.config.test_time_mirror = true;
        let both = model.predict(&[&input]).expect("predict");
        for c in 0..3 {
            let mean = (plain[0].probabilities[c] + plain[1].probabilities[c]) / 2.0;
            assert!((both[0].probabilities[c] - mean).abs() < 1e-5);
        }
        // Flipping the flow without the crop is another input.
        let mut half = mirrored.clone();
        half[3 * 28 * 28..].copy_from_slice(&input[3 * 28 * 28..]);
        let other = model.predict(&[&half]).expect("predict");
        let moved: f32 = other[0].probabilities.iter().zip(&plain[1].probabilities).map(|(a, b)| (a - b).abs()).sum();
        assert!(moved > 1e-6, "{moved}");
    }

    #[test]
    fn weights_of_another_shape_are_refused_with_names_and_shapes() {
        let dir = temp_dir("mismatch");
        let small =
            EpirModel::new(EpirConfig { dims: vec![32, 64], ..Default::default() }, Device::Cpu).expect("model");
        let path = dir.join("epir.safetensors");
        small.save(&path).expect("save");
        // Pretend the config says the default (wider) architecture.
        write_atomic(&dir.join("epir.ron"), EpirConfig::default().to_ron().expect("ron").as_bytes()).expect("config");
        let message = match EpirModel::load(&path, Device::Cpu) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("a mismatched file loaded"),
        };
        assert!(message.contains("epir.safetensors"), "{message}");
        assert!(message.contains("dnspt.proj.weight has shape [32, 240], expected [64, 240]"), "{message}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn corrupt_weights_name_the_file() {
        let dir = temp_dir("corrupt");
        let path = dir.join("epir.safetensors");
        write_atomic(&path, b"not a safetensors file").expect("write");
        write_atomic(&dir.join("epir.ron"), EpirConfig::default().to_ron().expect("ron").as_bytes()).expect("config");
        let message = EpirModel::load(&path, Device::Cpu).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.starts_with(&format!("cannot read weights {}", path.display())), "{message}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
