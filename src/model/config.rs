//! EPIR hyper-parameters, stored as RON next to the weights so a weights file
//! is always read with the architecture it was trained with.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpirConfig {
    /// Input channels: u, v, optical strain.
    pub in_channels: i64,
    /// Square side the model works at, in pixels. Inputs of another size
    /// (the 28×28 flow) are resized to it bilinearly first: 32 gives an 8×8
    /// patch grid that token integration halves without padding, where 28
    /// gives 7×7, padded to 8×8 before merging (7 of the 16 second-stage
    /// tokens half padding).
    pub image_size: i64,
    /// Square patch side; the DNSPT shift is half of it.
    pub patch_size: i64,
    /// Token width of each cascaded stage.
    pub dims: Vec<i64>,
    /// Transformer blocks in each stage.
    pub depths: Vec<i64>,
    /// Attention heads in each stage.
    pub heads: Vec<i64>,
    /// MLP hidden width as a multiple of the token width.
    pub mlp_ratio: f64,
    /// Share of the last stage's tokens DTSM keeps for the classifier.
    pub select_ratio: f64,
    /// Class names, in logit order.
    pub class_names: Vec<String>,
    /// Average the class probabilities of the input and its left-right
    /// mirror (u negated) at inference: faces are near-symmetric, and the
    /// average is steadier than either view.
    #[serde(default)]
    pub test_time_mirror: bool,
    /// What the DNSPT's shifted copies hold where they moved off the image.
    #[serde(default, skip_serializing_if = "ShiftFill::is_zero")]
    pub shift_fill: ShiftFill,
    /// Drop-path (stochastic depth) in training: the last block's branches
    /// are dropped with this probability, earlier ones linearly less, the
    /// first never. 0 (the first recipes): off.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub drop_path: f64,
    /// Temperature T of the calibrated probabilities, softmax(log p / T),
    /// fitted on the recipe's LOSO predictions (each subject's from a model
    /// that never saw it); 1: uncalibrated.
    #[serde(default = "uncalibrated", skip_serializing_if = "is_uncalibrated")]
    pub temperature: f64,
    /// A second input stream: the sample's apex crop in grey at the flow's
    /// side, pixel-aligned with it, as one more plane after the flow's
    /// `in_channels` (`model::input::apex_plane`). The patch tokeniser
    /// then embeds it with the motion; nothing else changes. Off (the
    /// first recipes): left out of the RON and of the recipe key.
    #[serde(default, skip_serializing_if = "is_false")]
    pub apex_stream: bool,
}

// Options added after the first recipes are left out of the RON (and of the
// fold store's recipe key) at their old behaviour, so a recipe that does not
// use them keeps its key and its stored folds.
fn uncalibrated() -> f64 {
    1.0
}

fn is_uncalibrated(t: &f64) -> bool {
    *t == 1.0
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

impl ShiftFill {
    fn is_zero(&self) -> bool {
        *self == ShiftFill::Zero
    }
}

/// The fill of the DNSPT's shifted copies past the image's edge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum ShiftFill {
    /// 0 of the normalised input (the first recipes): a channel's mean over
    /// the training set, which is neither zero motion nor zero strain.
    #[default]
    Zero,
    /// The edge pixels repeated: the face's border, mostly still skin.
    Edge,
}

impl Default for EpirConfig {
    fn default() -> Self {
        Self {
            in_channels: 3,
            image_size: 28,
            patch_size: 4,
            dims: vec![64, 128],
            depths: vec![2, 2],
            heads: vec![4, 4],
            mlp_ratio: 2.0,
            select_ratio: 0.5,
            class_names: vec!["negative".into(), "positive".into(), "surprise".into()],
            test_time_mirror: false,
            shift_fill: ShiftFill::Zero,
            drop_path: 0.0,
            temperature: 1.0,
            apex_stream: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read model config {path}: {reason}")]
    Read { path: PathBuf, reason: std::io::Error },
    #[error("model config {path} is not valid RON: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("cannot serialise the model config: {0}")]
    Serialize(String),
    #[error("invalid EPIR config: {0}")]
    Invalid(String),
}

impl EpirConfig {
    pub fn num_classes(&self) -> i64 {
        self.class_names.len() as i64
    }

    /// Planes of one input: the flow's `in_channels`, and the apex crop's
    /// with the apex stream.
    pub fn input_channels(&self) -> i64 {
        self.in_channels + i64::from(self.apex_stream)
    }

    pub fn num_stages(&self) -> usize {
        self.dims.len()
    }

    /// Token grid (rows, cols) of each stage: the patch grid, then halved
    /// (rounding up) by each token integration.
    pub fn grids(&self) -> Vec<(i64, i64)> {
        let side = self.image_size / self.patch_size;
        let mut grids = vec![(side, side)];
        for _ in 1..self.num_stages() {
            let (h, w) = grids[grids.len() - 1];
            grids.push(((h + 1) / 2, (w + 1) / 2));
        }
        grids
    }

    /// How many last-stage tokens DTSM keeps (at least one).
    pub fn kept_tokens(&self) -> i64 {
        let (h, w) = self.grids()[self.num_stages() - 1];
        ((self.select_ratio * (h * w) as f64).round() as i64).clamp(1, h * w)
    }

    /// Drop-path probability of each block, in order: linear from 0 at the
    /// first block to `drop_path` at the last.
    pub fn drop_path_rates(&self) -> Vec<f64> {
        let blocks = self.depths.iter().sum::<i64>().max(0) as usize;
        (0..blocks).map(|i| if blocks > 1 { self.drop_path * i as f64 / (blocks - 1) as f64 } else { 0.0 }).collect()
    }

    pub fn mlp_hidden(&self, dim: i64) -> i64 {
        (dim as f64 * self.mlp_ratio).round() as i64
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        let stages = self.dims.len();
        if stages == 0 {
            return bad("at least one stage is needed (dims is empty)".into());
        }
        if self.depths.len() != stages || self.heads.len() != stages {
            return bad(format!(
                "dims, depths and heads must have one entry per stage; found {}, {} and {}",
                stages,
                self.depths.len(),
                self.heads.len()
            ));
        }
        if self.in_channels < 1 {
            return bad(format!("in_channels must be positive, found {}", self.in_channels));
        }
        if self.patch_size < 2 || self.patch_size % 2 != 0 {
            return bad(format!(
                "patch_size must be even and >= 2 (DNSPT shifts by half a patch), found {}",
                self.patch_size
            ));
        }
        if self.image_size < self.patch_size || self.image_size % self.patch_size != 0 {
            return bad(format!("image_size {} must be a multiple of patch_size {}", self.image_size, self.patch_size));
        }
        for (stage, ((&dim, &depth), &heads)) in self.dims.iter().zip(&self.depths).zip(&self.heads).enumerate() {
            if dim < 1 || depth < 1 || heads < 1 {
                return bad(format!("stage {stage}: dims, depths and heads must be positive"));
            }
            if dim % heads != 0 {
                return bad(format!("stage {stage}: dim {dim} is not divisible by {heads} heads"));
            }
        }
        // Written so that NaN fails too.
        if self.mlp_ratio.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return bad(format!("mlp_ratio must be positive, found {}", self.mlp_ratio));
        }
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
            return bad(format!("temperature must be a positive number, found {}", self.temperature));
        }
        if !(0.0..1.0).contains(&self.drop_path) {
            return bad(format!("drop_path must be in [0, 1), found {}", self.drop_path));
        }
        if !(self.select_ratio > 0.0 && self.select_ratio <= 1.0) {
            return bad(format!("select_ratio must be in (0, 1], found {}", self.select_ratio));
        }
        if self.class_names.len() < 2 {
            return bad("at least two class names are needed".into());
        }
        Ok(())
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|reason| ConfigError::Read { path: path.to_path_buf(), reason })?;
        let config: Self = ron::from_str(&text)
            .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string() })?;
        config.validate()?;
        Ok(config)
    }

    pub fn to_ron(&self) -> Result<String, ConfigError> {
        let pretty = ron::ser::PrettyConfig::new().depth_limit(2);
        ron::ser::to_string_pretty(self, pretty).map_err(|e| ConfigError::Serialize(e.to_string()))
    }

    /// The config file that sits beside a weights file:
    /// `epir-megc2019.safetensors` -> `epir-megc2019.ron`.
    pub fn path_beside(weights: &Path) -> PathBuf {
        weights.with_extension("ron")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_grids_halve_with_rounding_up() {
        let config =
            EpirConfig { dims: vec![8, 8, 8], depths: vec![1, 1, 1], heads: vec![1, 1, 1], ..Default::default() };
        assert_eq!(config.grids(), vec![(7, 7), (4, 4), (2, 2)]);
        assert_eq!(EpirConfig::default().kept_tokens(), 8);
    }

    #[test]
    fn ron_round_trip_and_validation() {
        let config = EpirConfig::default();
        let back: EpirConfig = ron::from_str(&config.to_ron().expect("serialise")).expect("parse");
        assert_eq!(back, config);
        // Options off stay out of the RON: the first recipes' text, key for key.
        let text = config.to_ron().expect("serialise");
        for key in ["apex_stream", "drop_path", "shift_fill", "temperature"] {
            assert!(!text.contains(key), "{key} in {text}");
        }
        let apex = EpirConfig { apex_stream: true, ..Default::default() };
        let text = apex.to_ron().expect("serialise");
        assert!(text.contains("apex_stream: true"), "{text}");
        assert_eq!(ron::from_str::<EpirConfig>(&text).expect("parse"), apex);
        let bad = EpirConfig { heads: vec![3, 4], ..Default::default() };
        let message = bad.validate().expect_err("64 is not divisible by 3").to_string();
        assert!(message.contains("stage 0") && message.contains("3 heads"), "{message}");
    }
}
