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
        subjects: glimpse::train::split::Subjects::All,
        store: None,
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

/// Development runs keep to the development subjects, and a LOSO run
/// resumes: finished folds are read back from the store, not trained again,
/// and give the same report.
#[test]
fn a_development_run_resumes_from_its_stored_folds() {
    use glimpse::train::fold_store::{FoldStore, Recipe};
    use glimpse::train::split::Subjects;
    use std::sync::Mutex;
    tch::set_num_threads(1);
    let config = EpirConfig::default();
    let dataset = Dataset::load(&common::shared_data(), &config.class_names).expect("load shared data");
    let options = TrainOptions { epochs: 2, warmup_epochs: 1, ..Default::default() };
    let root = common::temp_dir("fold-store");
    let recipe = Recipe::new(&config, &options, Subjects::Development, &dataset);
    let store = FoldStore::open(&root, &recipe).expect("open the store");
    let settings = LosoSettings {
        config: &config,
        subjects: Subjects::Development,
        store: Some(&store),
        options: &options,
        device: Device::Cpu,
        jobs: 1,
        max_folds: Some(2),
        command: "test".into(),
    };
    let lines = Mutex::new(Vec::new());
    let log = |line: &str| lines.lock().expect("lock").push(line.to_string());
    let first = run_loso(&dataset, &settings, &log).expect("loso");
    assert_eq!(first.subjects, 24, "a third of the 68 subjects");
    // Every third CASME II subject in sorted order: sub01, then sub04.
    let folds: Vec<&str> = first.folds.iter().map(|f| f.fold.as_str()).collect();
    assert_eq!(folds, vec!["casme2/sub01", "casme2/sub04"]);
    let stored: Vec<String> = std::fs::read_dir(&store.dir)
        .expect("store")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(stored.contains(&"casme2__sub01.json".to_string()) && stored.contains(&"recipe.json".to_string()));
    let interval = first.honest_intervals["full"].uf1;
    assert!(interval.low <= first.honest["full"].uf1 && first.honest["full"].uf1 <= interval.high, "{interval:?}");

    // A stopped run: one fold is gone; the rerun trains it alone.
    std::fs::remove_file(store.dir.join("casme2__sub04.json")).expect("remove one fold");
    lines.lock().expect("lock").clear();
    let again = run_loso(&dataset, &settings, &log).expect("loso again");
    let lines = lines.lock().expect("lock").clone();
    assert_eq!(lines.iter().filter(|l| l.contains("(stored: not trained again)")).count(), 1, "{lines:?}");
    for (a, b) in first.folds.iter().zip(&again.folds) {
        assert_eq!((&a.fold, &a.predicted, &a.losses), (&b.fold, &b.predicted, &b.losses));
    }
    // Another recipe is another folder.
    let other = Recipe::new(&config, &TrainOptions { seed: 7, ..options.clone() }, Subjects::Development, &dataset);
    assert_ne!(other.key().expect("key"), recipe.key().expect("key"));
    std::fs::remove_dir_all(&root).expect("cleanup");
}
