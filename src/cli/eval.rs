//! `glimpse eval`: a weights file scored on a labelled flow data set.
use std::path::{Path, PathBuf};

use anyhow::Result;
use glimpse::model::EpirModel;
use glimpse::train::metrics::scores_by_subset;
use glimpse::train::protocol::subset_order;
use glimpse::train::Dataset;

use glimpse::resources::Resource;

use super::{given_or_located, write_json, DEFAULT_DATA};

#[derive(clap::Args)]
pub struct EvalArgs {
    /// EPIR weights (the config RON beside them; default: the installed ones).
    #[arg(long)]
    weights: Option<PathBuf>,
    #[arg(long, default_value = DEFAULT_DATA)]
    data: PathBuf,
    /// Also write the scores as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: EvalArgs, device: tch::Device) -> Result<()> {
    let EvalArgs { weights, data, out } = args;
    let weights = given_or_located(weights, Resource::EpirWeights)?;
    let model = EpirModel::load(&weights, device)?;
    let mut dataset = Dataset::load(&data, &model.config.class_names)?;
    if model.config.apex_stream {
        super::train::add_apex_stream(&mut dataset)?;
    }
    let mut outcomes = Vec::with_capacity(dataset.samples.len());
    for chunk in dataset.samples.chunks(256) {
        let flows: Vec<&[f32]> = chunk.iter().map(|s| s.flow.as_slice()).collect();
        for (sample, prediction) in chunk.iter().zip(model.predict(&flows)?) {
            outcomes.push((sample.dataset.as_str(), sample.label, prediction.class));
        }
    }
    let scores = scores_by_subset(model.config.class_names.len(), outcomes);
    say!("{} on {} ({} samples)", weights.display(), data.display(), dataset.samples.len());
    say!("subset        UF1     UAR     acc     n");
    for (name, s) in subset_order(&scores) {
        say!("{name:<10} {:.4}  {:.4}  {:.4}  {}", s.uf1, s.uar, s.accuracy, s.samples);
    }
    if let Some(out) = out.as_deref() {
        write_json(out, &scores)?;
    }
    Ok(())
}

/// The config for a fresh model: a RON file, or the built-in EPIR config.
pub fn load_config(path: Option<&Path>) -> Result<glimpse::model::EpirConfig> {
    Ok(match path {
        Some(path) => glimpse::model::EpirConfig::load(path)?,
        None => glimpse::model::EpirConfig::default(),
    })
}
