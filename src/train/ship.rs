//! `glimpse train --protocol all`: the shipped model trained on every
//! sample, saved with its config, and its model card written beside it from
//! the LOSO report, the other recipes tried and the latency benchmark.
use std::path::{Path, PathBuf};
use std::time::Instant;

use tch::Device;

use super::card::{model_card, CardFacts};
use super::dataset::Dataset;
use super::protocol::{unix_now, LosoReport};
use super::trainer::{train, TrainError, TrainOptions};
use crate::files::{write_atomic, WriteError};
use crate::model::bench::ModelBench;
use crate::model::{EpirConfig, ModelError};

/// What goes into the model card besides the training run itself.
pub struct CardInputs<'a> {
    /// The data folder as the user named it (printed in the card).
    pub data: &'a Path,
    pub loso: Option<&'a LosoReport>,
    pub also_tried: &'a [LosoReport],
    /// `glimpse bench model` output and the machine it ran on.
    pub bench: Option<(&'a ModelBench, &'a str)>,
    /// The command that reproduces the weights.
    pub command: &'a str,
    /// Where `loso` was read from.
    pub loso_path: Option<&'a Path>,
    /// The development-split runs behind the recipe, with their files.
    pub development: &'a [(String, LosoReport)],
}

#[derive(Debug)]
pub struct Shipped {
    pub weights: PathBuf,
    pub config: PathBuf,
    pub card: PathBuf,
    pub wall_time_s: f64,
    pub first_loss: f64,
    pub last_loss: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("{path} exists and is not a Glimpse model card: it is left as it is; write the weights to another folder")]
    NotOurCard { path: PathBuf },
}

/// The heading every card `model_card` writes starts with: a README.md
/// that starts otherwise is the user's, and never overwritten.
const CARD_HEADING: &str = "# EPIR model card";

/// Trains on all of `dataset`, saves the weights to `weights_out` (config
/// RON beside them) and writes the model card as `README.md` beside them.
pub fn train_and_ship(
    dataset: &Dataset,
    config: &EpirConfig,
    options: &TrainOptions,
    device: Device,
    weights_out: &Path,
    inputs: &CardInputs<'_>,
) -> Result<Shipped, ShipError> {
    let card_path = weights_out.with_file_name("README.md");
    // Checked before hours of training, not after.
    if let Ok(existing) = std::fs::read(&card_path) {
        if !existing.starts_with(CARD_HEADING.as_bytes()) {
            return Err(ShipError::NotOurCard { path: card_path });
        }
    }
    let started = Instant::now();
    let all: Vec<_> = dataset.samples.iter().collect();
    let trained = train(config, &all, &[], options, options.seed, device)?;
    let wall_time_s = started.elapsed().as_secs_f64();
    trained.model.save(weights_out)?;
    let loso_path = inputs.loso_path.map(|p| p.display().to_string());
    let weights_name = weights_out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let card = model_card(&CardFacts {
        weights_file: &weights_name,
        config,
        options,
        data: &inputs.data.display().to_string(),
        samples: dataset.samples.len(),
        subjects: dataset.folds().len(),
        class_counts: &dataset.class_counts(),
        device: &crate::device::describe(device),
        wall_time_s,
        finished_unix_s: unix_now(),
        command: inputs.command,
        loso: inputs.loso,
        also_tried: inputs.also_tried,
        bench: inputs.bench,
        loso_path: loso_path.as_deref(),
        development: inputs.development,
    });
    write_atomic(&card_path, card.as_bytes())?;
    Ok(Shipped {
        weights: weights_out.to_path_buf(),
        config: EpirConfig::path_beside(weights_out),
        card: card_path,
        wall_time_s,
        first_loss: trained.losses.first().copied().unwrap_or(f64::NAN),
        last_loss: trained.losses.last().copied().unwrap_or(f64::NAN),
    })
}
