//! The weights that ship in weights/ load, match their config and card, and
//! are trained (they fit their own training data far above chance).
mod common;

use std::path::Path;

use glimpse::model::{flops, EpirModel};
use glimpse::train::metrics::scores_by_subset;
use glimpse::train::Dataset;
use tch::Device;

#[test]
fn shipped_weights_are_the_trained_epir_their_card_describes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let weights = root.join("weights/epir-megc2019.safetensors");
    let model = EpirModel::load(&weights, Device::Cpu).expect("load shipped weights");
    assert_eq!(model.param_count(), flops::total_params(&model.config));
    assert!(model.param_count() <= 2_500_000);

    let card = std::fs::read_to_string(root.join("weights/README.md")).expect("model card");
    assert!(card.contains(&format!("{} parameters", model.param_count())), "the card states the parameter count");
    assert!(card.contains("442 samples from 68 subjects"));
    assert!(card.contains("| HTNet (2024, published) | optimistic | 0.8603 / 0.8475"));

    let dataset = Dataset::load(&common::shared_data(), &model.config.class_names).expect("load shared data");
    let flows: Vec<&[f32]> = dataset.samples.iter().map(|s| s.flow.as_slice()).collect();
    let predictions = model.predict(&flows).expect("predict");
    let scores = scores_by_subset(
        3,
        dataset.samples.iter().zip(&predictions).map(|(s, p)| (s.dataset.as_str(), s.label, p.class)),
    );
    // Training-set fit, not generalisation (that is the card's LOSO table):
    // an untrained model sits near chance (UF1 about 0.3).
    let full = &scores["full"];
    assert!(full.uf1 > TRAINING_FIT_UF1, "UF1 {} on the training data", full.uf1);
    for p in &predictions {
        assert!((p.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        assert!((p.attention.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
}

/// The shipped weights measured 0.9012 here (2026-11-23); the margin absorbs
/// rounding differences between CPUs.
const TRAINING_FIT_UF1: f64 = 0.85;
