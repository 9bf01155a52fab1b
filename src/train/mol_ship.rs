//! `glimpse train --model mol-lite --protocol all`: MOL-lite trained on
//! every sample's rendered clips, saved with its config, and its model card
//! (`mol_card`) written beside it as `<weights stem>.md`.
use std::path::{Path, PathBuf};
use std::time::Instant;

use tch::Device;

use super::dataset::Dataset;
use super::mol_card::{mol_model_card, MolCardFacts, MOL_CARD_HEADING};
use super::mol_trainer::{check_mol_options, train_mol, MolSample};
use super::protocol::{unix_now, LosoReport};
use super::ship::Shipped;
use super::trainer::{TrainError, TrainOptions};
use crate::files::{write_atomic, WriteError};
use crate::model::mol::{MolError, MolModel};

#[derive(Debug, thiserror::Error)]
pub enum MolShipError {
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Model(#[from] MolError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(
        "{path} exists and is not a Glimpse MOL-lite model card: it is left as it is; write the weights elsewhere"
    )]
    NotOurCard { path: PathBuf },
    #[error("{samples} MOL inputs for {expected} data set samples")]
    InputCount { samples: usize, expected: usize },
}

/// The card beside `weights`: `mol-lite-megc2019.safetensors` ->
/// `mol-lite-megc2019.md` (weights/README.md is EPIR's card).
pub fn card_beside(weights: &Path) -> PathBuf {
    weights.with_extension("md")
}

pub struct MolShipInputs<'a> {
    /// The data folder as the user named it (printed in the card).
    pub data: &'a Path,
    pub loso: Option<&'a LosoReport>,
    pub command: &'a str,
}

/// Trains MOL-lite on all of `samples` (one per `dataset` sample, in its
/// order), saves the weights to `weights_out` with the config RON beside
/// them, and writes the card.
pub fn train_and_ship_mol(
    dataset: &Dataset,
    samples: &[MolSample],
    options: &TrainOptions,
    device: Device,
    weights_out: &Path,
    inputs: &MolShipInputs<'_>,
) -> Result<Shipped, MolShipError> {
    let recipe = check_mol_options(options)?;
    if samples.len() != dataset.samples.len() {
        return Err(MolShipError::InputCount { samples: samples.len(), expected: dataset.samples.len() });
    }
    let card_path = card_beside(weights_out);
    // Checked before the training, not after.
    if let Ok(existing) = std::fs::read(&card_path) {
        if !existing.starts_with(MOL_CARD_HEADING.as_bytes()) {
            return Err(MolShipError::NotOurCard { path: card_path });
        }
    }
    let started = Instant::now();
    let all: Vec<&MolSample> = samples.iter().collect();
    let run = train_mol(&all, &[], options, options.seed, device)?;
    let wall_time_s = started.elapsed().as_secs_f64();
    run.model.save(weights_out)?;
    let weights_file = weights_out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let card = mol_model_card(&MolCardFacts {
        weights_file: &weights_file,
        recipe,
        options,
        params: run.model.param_count(),
        data: &inputs.data.display().to_string(),
        samples: dataset.samples.len(),
        subjects: dataset.folds().len(),
        class_counts: &dataset.class_counts(),
        device: &crate::device::describe(device),
        wall_time_s,
        finished_unix_s: unix_now(),
        command: inputs.command,
        losses: &run.loss_parts,
        loso: inputs.loso,
    });
    write_atomic(&card_path, card.as_bytes())?;
    Ok(Shipped {
        weights: weights_out.to_path_buf(),
        config: MolModel::config_beside(weights_out),
        card: card_path,
        wall_time_s,
        first_loss: run.losses.first().copied().unwrap_or(f64::NAN),
        last_loss: run.losses.last().copied().unwrap_or(f64::NAN),
    })
}
