//! MOL hyper-parameters. `official()` is the architecture of the published
//! code (CYF-cuber/MOL); the fields are the sizes that code hard-wires, kept
//! here so that `lite()` can describe a smaller variant without touching the
//! modules.
use serde::{Deserialize, Serialize};

/// What the MER head reads (MOL-lite variants; the official model reads
/// the F5C features).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MerInput {
    /// The fourteen F5C maps of the seven pairs, first0, second0, first1,
    /// ... (the official `MER_3dCNN` input).
    #[default]
    Features,
    /// Per pair, the first-frame F5C block's map of the second frame minus
    /// its map of the first frame (seven maps): what stays the same from
    /// frame to frame, the person's appearance among it, cancels; a static
    /// clip gives exactly zero. BatchNorm over the channels before the
    /// 3-D convolution.
    Differences,
    /// The flow head's predicted flow of each pair, average-pooled to the
    /// feature grid (seven 2-channel maps), through a BatchNorm; gradients
    /// flow back into the flow head.
    Flow,
}

impl MerInput {
    pub fn is_features(&self) -> bool {
        *self == Self::Features
    }

    /// Channels of each map the MER head's 3-D convolution reads.
    pub fn channels(&self, feature_channels: i64) -> i64 {
        match self {
            Self::Features | Self::Differences => feature_channels,
            Self::Flow => 2,
        }
    }

    /// Maps stacked along the MER head's time axis for `pairs` pairs.
    pub fn steps(&self, pairs: i64) -> i64 {
        match self {
            Self::Features => 2 * pairs,
            Self::Differences | Self::Flow => pairs,
        }
    }
}

/// Which network predicts each pair's optical flow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlowHead {
    /// The published FlowNetC (`flownet`): 39.7 M parameters, six levels.
    #[default]
    FlowNetC,
    /// `lite_flow`: a three-level FlowNetC-style encoder/decoder whose
    /// widest layer has `2 * width` channels.
    Lite { width: i64 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MolConfig {
    /// Grey frames per clip; the backbone runs on each adjacent pair.
    pub frames: i64,
    /// Square frame side in pixels.
    pub image_size: i64,
    /// Channels out of the shared conv stack (split in two halves by FCC).
    pub feature_channels: i64,
    /// Length of FCC's meta kernels and position encodings; cropped to the
    /// feature grid side.
    pub meta_kernel_size: i64,
    /// Hidden width of FCC's feed-forward block (built, never called).
    pub fcc_ffn_dim: i64,
    /// Neighbours per position in CCC's feature-similarity graph.
    pub neighbours: i64,
    /// Side of the correlation window, in displacements.
    pub correlation_patch: i64,
    /// Step between displacements of the correlation window.
    pub correlation_dilation: i64,
    /// Facial landmarks predicted per pair (x and y each).
    pub landmarks: i64,
    /// Class names, in logit order.
    pub class_names: Vec<String>,
    /// The flow network (configs written before MOL-lite are FlowNetC).
    #[serde(default)]
    pub flow_head: FlowHead,
    /// Run the F5C blocks and the flow network once on all pairs of a clip
    /// (BatchNorm statistics over all pairs) instead of once per pair as
    /// published (see `Mol::forward`).
    #[serde(default)]
    pub pairs_in_one_batch: bool,
    /// What the MER head reads; left out of the RON (and of recipe keys)
    /// when it is the official F5C features.
    #[serde(default, skip_serializing_if = "MerInput::is_features")]
    pub mer_input: MerInput,
}

#[derive(Debug, thiserror::Error)]
pub enum MolConfigError {
    #[error("the official MOL has 3 or 5 classes, not {0}")]
    OfficialClasses(usize),
    #[error("invalid MOL config: {0}")]
    Invalid(String),
    #[error("cannot read MOL config {path}: {reason}")]
    Read { path: std::path::PathBuf, reason: std::io::Error },
    #[error("MOL config {path} is not valid RON: {message}")]
    Parse { path: std::path::PathBuf, message: String },
    #[error("cannot write the MOL config as RON: {0}")]
    Serialize(String),
}

impl MolConfig {
    /// The published architecture with 3 or 5 classes, named in the label
    /// order of the official dataset.py (5: CASME II's; SAMM's 5-class set
    /// has anger and contempt in place of disgust and repression).
    pub fn official(classes: usize) -> Result<Self, MolConfigError> {
        let class_names: Vec<String> = match classes {
            3 => ["surprise", "positive", "negative"].map(String::from).to_vec(),
            5 => ["surprise", "happiness", "disgust", "repression", "others"].map(String::from).to_vec(),
            other => return Err(MolConfigError::OfficialClasses(other)),
        };
        Ok(Self {
            frames: 8,
            image_size: 128,
            feature_channels: 128,
            meta_kernel_size: 32,
            fcc_ffn_dim: 2,
            neighbours: 4,
            correlation_patch: 21,
            correlation_dilation: 2,
            landmarks: 68,
            class_names,
            flow_head: FlowHead::FlowNetC,
            pairs_in_one_batch: false,
            mer_input: MerInput::Features,
        })
    }

    /// MOL-lite, sized for a 68-fold LOSO on two CPU cores (one training
    /// step of 32 clips takes about 0.75 s on one libtorch thread): the same
    /// conv stack, F5C blocks (FCC + CCC), MER 3-D CNN and landmark head,
    /// with the composite MEGC2019 data's 3 classes in its label order
    /// (negative, positive, surprise; the official order differs). 988,003
    /// parameters (the official model: 44,104,865) and 173.8 MFLOPs per
    /// 8-frame clip forward (`cost::layer_costs`). Differences, each for
    /// speed on a CPU:
    ///
    /// - 64 x 64 frames instead of 128 x 128, so the feature grid is 8 x 8
    ///   (64 graph positions in CCC instead of 256);
    /// - 64 feature channels instead of 128 (conv stack, F5C, both heads'
    ///   inputs);
    /// - FCC's meta kernels and position encodings are 8 long (the grid
    ///   side; the official 32 are cropped to 16 anyway);
    /// - the flow network is `lite_flow` (one refinement level, predicting
    ///   at 1/4 resolution, upsampled bilinearly; 66,540 parameters)
    ///   instead of the six-level FlowNetC (39.7 M);
    /// - its correlation window is 7 x 7 displacements 1 cell apart (±3
    ///   cells = ±24 px at 1/8 of 64) instead of 21 x 21, 2 apart;
    /// - the pairs of a clip go through F5C and the flow network as one
    ///   batch (`pairs_in_one_batch`), so in training BatchNorm statistics
    ///   pool all seven pairs instead of one pair at a time.
    pub fn lite() -> Self {
        Self {
            frames: 8,
            image_size: 64,
            feature_channels: 64,
            meta_kernel_size: 8,
            fcc_ffn_dim: 2,
            neighbours: 4,
            correlation_patch: 7,
            correlation_dilation: 1,
            landmarks: 68,
            class_names: ["negative", "positive", "surprise"].map(String::from).to_vec(),
            flow_head: FlowHead::Lite { width: 16 },
            pairs_in_one_batch: true,
            mer_input: MerInput::Features,
        }
    }

    pub fn num_classes(&self) -> i64 {
        self.class_names.len() as i64
    }

    /// Reads and validates a config RON (as `to_ron` writes it).
    pub fn load(path: &std::path::Path) -> Result<Self, MolConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|reason| MolConfigError::Read { path: path.to_path_buf(), reason })?;
        let config: Self = ron::from_str(&text)
            .map_err(|e| MolConfigError::Parse { path: path.to_path_buf(), message: e.to_string() })?;
        config.validate()?;
        Ok(config)
    }

    pub fn to_ron(&self) -> Result<String, MolConfigError> {
        let pretty = ron::ser::PrettyConfig::new().depth_limit(2);
        ron::ser::to_string_pretty(self, pretty).map_err(|e| MolConfigError::Serialize(e.to_string()))
    }

    pub fn pairs(&self) -> i64 {
        self.frames - 1
    }

    /// Side of the conv stack's output grid: k4 s2, k3 s2, k2 s2 p1, k1.
    pub fn feature_side(&self) -> i64 {
        let after_first = (self.image_size - 4) / 2 + 1;
        let after_second = (after_first - 3) / 2 + 1;
        after_second / 2 + 1
    }

    /// Side of FlowNet's encoder output, where the correlation and the F5C
    /// features meet: three stride-2 convolutions.
    pub fn flow_encoder_side(&self) -> i64 {
        self.image_size / 8
    }

    /// Correlation channels: one per displacement in the window.
    pub fn correlation_channels(&self) -> i64 {
        self.correlation_patch * self.correlation_patch
    }

    pub fn validate(&self) -> Result<(), MolConfigError> {
        let bad = |m: String| Err(MolConfigError::Invalid(m));
        // The MER head's time kernel (5) and pool (2) need at least six
        // stacked maps, i.e. three pairs.
        if self.frames < 4 {
            return bad(format!("at least four frames are needed, found {}", self.frames));
        }
        // Seven maps (one per pair) need at least six pairs.
        if !self.mer_input.is_features() && self.pairs() < 6 {
            return bad(format!("the MER head's {:?} input needs at least seven frames", self.mer_input));
        }
        if !self.mer_input.is_features() && !self.pairs_in_one_batch {
            return bad(format!("the MER head's {:?} input is built only with pairs_in_one_batch", self.mer_input));
        }
        match self.flow_head {
            // FlowNet halves the grid six times and upsamples back with
            // exact doubling, so the side must be a multiple of 64.
            FlowHead::FlowNetC => {
                if self.image_size < 64 || self.image_size % 64 != 0 {
                    return bad(format!("image_size must be a positive multiple of 64, found {}", self.image_size));
                }
            }
            // The lite head halves it three times.
            FlowHead::Lite { width } => {
                if self.image_size < 32 || self.image_size % 8 != 0 {
                    return bad(format!(
                        "image_size must be a multiple of 8 of at least 32 for the lite flow head, found {}",
                        self.image_size
                    ));
                }
                if width < 4 || width % 4 != 0 {
                    return bad(format!("the lite flow head's width must be a multiple of 4, found {width}"));
                }
            }
        }
        if self.feature_side() != self.flow_encoder_side() {
            return bad(format!(
                "conv stack grid {} differs from FlowNet's encoder grid {}",
                self.feature_side(),
                self.flow_encoder_side()
            ));
        }
        if self.feature_channels < 2 || self.feature_channels % 2 != 0 {
            return bad(format!("feature_channels must be even (FCC splits them), found {}", self.feature_channels));
        }
        if self.meta_kernel_size < self.feature_side() {
            return bad(format!(
                "meta_kernel_size {} is shorter than the feature grid side {}",
                self.meta_kernel_size,
                self.feature_side()
            ));
        }
        let positions = self.feature_side() * self.feature_side();
        if self.neighbours < 1 || self.neighbours > positions {
            return bad(format!("neighbours must be in 1..={positions}, found {}", self.neighbours));
        }
        if self.correlation_patch < 1 || self.correlation_patch % 2 == 0 || self.correlation_dilation < 1 {
            return bad("correlation_patch must be odd and correlation_dilation positive".into());
        }
        if self.fcc_ffn_dim < 1 || self.landmarks < 1 {
            return bad("fcc_ffn_dim and landmarks must be positive".into());
        }
        if self.class_names.len() < 2 {
            return bad("at least two class names are needed".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_geometry_and_class_counts() {
        let config = MolConfig::official(5).expect("5 classes");
        config.validate().expect("official config is valid");
        assert_eq!(config.feature_side(), 16);
        assert_eq!(config.flow_encoder_side(), 16);
        assert_eq!(config.correlation_channels(), 441);
        assert_eq!(config.pairs(), 7);
        assert_eq!(MolConfig::official(3).expect("3 classes").num_classes(), 3);
        assert!(MolConfig::official(4).is_err());
    }

    #[test]
    fn lite_geometry_and_validation() {
        let lite = MolConfig::lite();
        lite.validate().expect("lite config is valid");
        assert_eq!((lite.feature_side(), lite.flow_encoder_side(), lite.correlation_channels()), (8, 8, 49));
        // The lite head needs a multiple of 8, FlowNetC one of 64.
        MolConfig { image_size: 96, meta_kernel_size: 12, ..lite.clone() }.validate().expect("96 suits the lite head");
        let message = MolConfig { image_size: 60, ..lite.clone() }.validate().expect_err("60").to_string();
        assert!(message.contains("multiple of 8"), "{message}");
        let message =
            MolConfig { flow_head: FlowHead::Lite { width: 6 }, ..lite }.validate().expect_err("6").to_string();
        assert!(message.contains("multiple of 4"), "{message}");
    }

    #[test]
    fn ron_round_trip_and_validation() {
        let config = MolConfig::official(3).expect("3 classes");
        let text = ron::ser::to_string(&config).expect("serialise");
        let back: MolConfig = ron::from_str(&text).expect("parse");
        assert_eq!(back, config);
        let bad = MolConfig { image_size: 96, ..config.clone() };
        let message = bad.validate().expect_err("96 is not a multiple of 64").to_string();
        assert!(message.contains("multiple of 64"), "{message}");
        let short = MolConfig { frames: 3, ..config };
        let message = short.validate().expect_err("three frames are too few").to_string();
        assert!(message.contains("four frames"), "{message}");
    }
}
