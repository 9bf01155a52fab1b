//! Short real training runs on the shared data: the loss falls, LOSO holds
//! each subject out, and a seed reproduces a run exactly.
mod common;

use glimpse::model::EpirConfig;
use glimpse::train::{run_loso, Dataset, LosoSettings, TrainOptions};
use tch::Device;

#[test]
fn two_loso_folds_learn_and_reproduce_from_the_seed() {
    tch::set_num_threads(1);
    let config = EpirConfig::default();
    let dataset = Dataset::load(&common::shared_data(), &config.class_names).expect("load shared data");
    let options = TrainOptions { epochs: 10, warmup_epochs: 1, ..Default::default() };
    let settings = LosoSettings {
        config: &config,
        options: &options,
        device: Device::Cpu,
        jobs: 2,
        max_folds: Some(2),
        command: "test".into(),
    };
    let report = run_loso(&dataset, &settings, &|_| {}).expect("loso");
    assert_eq!(report.folds_run, 2);
    assert_eq!(report.subjects, 68);
    // Folds run in sorted order: CASME II subjects 01 and 02 (3 and 9 samples).
    let folds: Vec<(&str, usize)> = report.folds.iter().map(|f| (f.fold.as_str(), f.truth.len())).collect();
    assert_eq!(folds, vec![("casme2/sub01", 3), ("casme2/sub02", 9)]);
    for fold in &report.folds {
        assert_eq!(fold.losses.len(), 10);
        let (first, last) = (fold.losses[0], fold.losses[9]);
        eprintln!("{}: loss {first:.3} -> {last:.3}", fold.fold);
        assert!(last < 0.85 * first, "{}: loss {first:.3} -> {last:.3} did not fall", fold.fold);
        assert_eq!(fold.predicted.len(), fold.truth.len());
        assert!(fold.best_epoch < 10);
    }
    let full = &report.honest["full"];
    assert_eq!(full.samples, 12);
    assert!((0.0..=1.0).contains(&full.uf1) && (0.0..=1.0).contains(&full.uar));
    // The optimistic protocol picks each fold's best epoch, so it can only do as well or better.
    assert!(report.optimistic_best_epoch_per_subject["full"].accuracy >= full.accuracy);

    let again = run_loso(&dataset, &settings, &|_| {}).expect("loso again");
    for (a, b) in report.folds.iter().zip(&again.folds) {
        assert_eq!(a.losses, b.losses, "{}: same seed, different losses", a.fold);
        assert_eq!(a.predicted, b.predicted);
    }
}
