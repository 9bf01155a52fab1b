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
        mol_samples: None,
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
        mol_samples: None,
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

/// The STSTNet baseline trains in the same harness: its loss falls on a
/// handful of real samples, and a LOSO run of it names the architecture in
/// its report and stores its folds apart from EPIR's.
#[test]
fn the_ststnet_baseline_learns_and_its_report_names_it() {
    use glimpse::model::ststnet::Architecture;
    use glimpse::train::baseline::{ststnet_options, train_ststnet};
    use glimpse::train::fold_store::Recipe;
    use glimpse::train::split::Subjects;
    tch::set_num_threads(1);
    let config = EpirConfig::default();
    let dataset = Dataset::load(&common::shared_data(), &config.class_names).expect("load shared data");
    // A handful of real samples of each class.
    let handful: Vec<&glimpse::train::Sample> =
        (0..3).flat_map(|class| dataset.samples.iter().filter(move |s| s.label == class).take(8)).collect();
    assert_eq!(handful.len(), 24);
    let quick = glimpse::train::TrainOptions {
        epochs: 30,
        learning_rate: 1e-2,
        min_learning_rate: 1e-2,
        ..ststnet_options(42)
    };
    let run = train_ststnet(&handful, &handful[..4], 3, &quick, 1, Device::Cpu).expect("train STSTNet");
    let first: f64 = run.losses[..3].iter().sum::<f64>() / 3.0;
    let last: f64 = run.losses[27..].iter().sum::<f64>() / 3.0;
    eprintln!("STSTNet on 24 samples: loss {first:.3} -> {last:.3}");
    assert!(last < 0.7 * first, "loss {first:.3} -> {last:.3} did not fall");
    assert_eq!(run.held_out_predictions.len(), 30);
    // EPIR's trainer refuses STSTNet's options rather than train EPIR with them.
    assert!(glimpse::train::train(&config, &handful, &[], &quick, 1, Device::Cpu).is_err());

    let options = glimpse::train::TrainOptions { epochs: 2, ..ststnet_options(42) };
    let settings = LosoSettings {
        config: &config,
        subjects: Subjects::All,
        store: None,
        options: &options,
        device: Device::Cpu,
        jobs: 1,
        max_folds: Some(1),
        command: "test".into(),
        mol_samples: None,
    };
    let report = run_loso(&dataset, &settings, &|_| {}).expect("loso");
    assert_eq!(report.architecture, Architecture::Ststnet);
    assert_eq!(report.folds[0].losses.len(), 2);
    assert_eq!(report.folds[0].predicted.len(), 3);
    let json = serde_json::to_string(&report).expect("report JSON");
    assert!(json.contains("\"architecture\":\"ststnet\""), "the report names STSTNet");
    // Its folds are stored apart from EPIR's; EPIR's recipe JSON (and so its
    // existing hashes) does not mention the architecture.
    let epir = Recipe::new(&config, &TrainOptions::default(), Subjects::All, &dataset);
    let ststnet = Recipe::new(&config, &ststnet_options(42), Subjects::All, &dataset);
    assert_ne!(epir.key().expect("key"), ststnet.key().expect("key"));
    assert!(!serde_json::to_string(&epir).expect("recipe JSON").contains("architecture"));
}

/// Every committed fold folder is still found by its recipe: a new training
/// option must not change the hash of the recipes already run.
#[test]
fn committed_fold_folders_keep_their_recipe_hashes() {
    use glimpse::train::fold_store::Recipe;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/loso-folds");
    let mut checked = 0;
    for entry in std::fs::read_dir(&root).expect("reports/loso-folds") {
        let dir = entry.expect("entry").path();
        let text = std::fs::read_to_string(dir.join("recipe.json")).expect("recipe.json");
        let recipe: Recipe = serde_json::from_str(&text).expect("a recipe");
        let name = dir.file_name().expect("name").to_string_lossy().into_owned();
        assert_eq!(recipe.key().expect("key"), name, "{}", dir.display());
        checked += 1;
    }
    assert!(checked >= 2, "{checked} folders");
}

/// `glimpse ensemble` on the two committed development runs of seeds 1
/// and 2 reproduces the committed ensemble report: its honest scores come
/// from the members' averaged probabilities, and beat the weaker member.
#[test]
fn the_seed_ensemble_of_two_committed_runs_reproduces_its_report() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = common::temp_dir("ensemble").join("ensemble.json");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_glimpse"))
        .current_dir(root)
        .args(["ensemble", "reports/loso-dev-r7-seed-1.json", "reports/loso-dev-r8-seed-2.json", "--out"])
        .arg(&out)
        .output()
        .expect("run glimpse ensemble");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let read = |path: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(path).expect("report")).expect("json")
    };
    let made = read(&out);
    let committed = read(&root.join("reports/loso-dev-ensemble-seeds-1-2.json"));
    let uf1 = |report: &serde_json::Value| report["honest"]["full"]["uf1"].as_f64().expect("uf1");
    assert!((uf1(&made) - uf1(&committed)).abs() < 1e-12, "{} vs {}", uf1(&made), uf1(&committed));
    assert!((uf1(&made) - 0.6452).abs() < 5e-5, "{}", uf1(&made));
    let weaker = uf1(&read(&root.join("reports/loso-dev-r7-seed-1.json")));
    assert!(uf1(&made) > weaker + 0.05, "ensemble {} vs seed 1 {weaker}", uf1(&made));
    // A run without probabilities (folds from before they were kept) is refused by name.
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_glimpse"))
        .current_dir(root)
        .args(["ensemble", "reports/loso-dev-r7-seed-1.json", "reports/loso-dev-r0-legacy.json", "--out"])
        .arg(out.with_extension("refused.json"))
        .output()
        .expect("run glimpse ensemble");
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("no class probabilities") || message.contains("differs from run 0"), "{message}");
}

/// `glimpse train --model mol-lite` end to end on the composite set: one
/// LOSO fold of one epoch writes a report with the held-out subject's
/// predictions, probabilities, flow error and landmark error, and the
/// recipe's class weighting and MER weight as given by --class-weighting and
/// --mer-weight (EPIR refuses those flags); its `--protocol all` refuses
/// EPIR's card inputs (`make weights-mol` runs it in full), and STSTNet
/// still refuses `--protocol all`.
#[test]
fn mol_lite_trains_one_fold_from_the_command_line() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = common::temp_dir("mol-lite-cli").join("mol.json");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_glimpse"))
        .current_dir(root)
        .args(["--device", "cpu", "train", "--model", "mol-lite", "--protocol", "loso", "--epochs", "1"])
        .args(["--class-weighting", "--mer-weight", "10"])
        .args(["--folds", "1", "--jobs", "1", "--no-store", "--out"])
        .arg(&out)
        .output()
        .expect("run glimpse train");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("report")).expect("json");
    assert_eq!(report["architecture"], "mol-lite");
    assert_eq!(report["options"]["class_weighting"], true);
    assert_eq!(report["options"]["mol"]["mer_weight"].as_f64(), Some(10.0));
    let folds = report["folds"].as_array().expect("folds");
    assert_eq!(folds.len(), 1);
    let fold = &folds[0];
    let truth = fold["truth"].as_array().expect("truth").len();
    assert!(truth > 0);
    assert_eq!(fold["predicted"].as_array().expect("predicted").len(), truth);
    for row in fold["probabilities"].as_array().expect("probabilities") {
        let sum: f64 = row.as_array().expect("row").iter().map(|p| p.as_f64().expect("p")).sum();
        assert!((sum - 1.0).abs() < 1e-4, "{row}");
    }
    let epe = fold["flow_epe"].as_f64().expect("flow EPE");
    let nme = fold["landmark_nme"].as_f64().expect("landmark NME");
    assert!(epe > 0.0 && epe < 5.0 && nme > 0.0 && nme < 5.0, "EPE {epe}, NME {nme}");
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_glimpse"))
        .current_dir(root)
        .args(["--device", "cpu", "train", "--model", "mol-lite", "--protocol", "all", "--also-tried"])
        .arg(&out)
        .arg("--weights-out")
        .arg(out.with_extension("safetensors"))
        .output()
        .expect("run glimpse train");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("MOL-lite's card takes --loso-report"));
    assert!(!out.with_extension("safetensors").exists());
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_glimpse"))
        .current_dir(root)
        .args(["--device", "cpu", "train", "--model", "ststnet", "--protocol", "all", "--weights-out"])
        .arg(out.with_extension("ststnet.safetensors"))
        .output()
        .expect("run glimpse train");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("use --protocol loso"));
    let epir = std::process::Command::new(env!("CARGO_BIN_EXE_glimpse"))
        .current_dir(root)
        .args(["--device", "cpu", "train", "--protocol", "loso", "--mer-weight", "10", "--no-store", "--out"])
        .arg(out.with_extension("epir.json"))
        .output()
        .expect("run glimpse train");
    assert!(!epir.status.success());
    assert!(String::from_utf8_lossy(&epir.stderr).contains("are MOL-lite's"));
}
