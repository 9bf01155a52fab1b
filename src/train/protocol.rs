//! Leave-one-subject-out evaluation and the final all-data training.
//!
//! Honest protocol: one schedule fixed in advance, the last epoch's model
//! scored on the held-out subject. The papers' optimistic protocol (for each
//! subject, the epoch that scored best on that very subject) is computed from
//! the same runs and reported separately, labelled as such.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::Device;

use super::dataset::{Dataset, Sample};
use super::metrics::{scores_by_subset, Scores};
use super::trainer::{train, TrainError, TrainOptions, TrainedModel};
use crate::model::EpirConfig;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FoldResult {
    pub fold: String,
    pub samples: Vec<String>,
    pub datasets: Vec<String>,
    pub truth: Vec<usize>,
    /// Last-epoch predictions (honest protocol).
    pub predicted: Vec<usize>,
    /// The epoch (0-based) that scored best on this fold, and its predictions.
    pub best_epoch: usize,
    pub best_epoch_predicted: Vec<usize>,
    /// Last-epoch predictions without the test-time mirror (when it is on).
    #[serde(default)]
    pub predicted_without_mirror: Vec<usize>,
    /// Predictions after every epoch, for the per-epoch diagnostic.
    #[serde(default)]
    pub predicted_by_epoch: Vec<Vec<usize>>,
    pub losses: Vec<f64>,
    pub seconds: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LosoReport {
    pub protocol: String,
    pub data: String,
    pub samples: usize,
    pub subjects: usize,
    pub folds_run: usize,
    /// Scores of the honest protocol: `full` and one entry per source set.
    pub honest: BTreeMap<String, Scores>,
    /// Honest scores of the same models without the test-time mirror (only
    /// when the config uses it).
    #[serde(default)]
    pub honest_without_test_time_mirror: BTreeMap<String, Scores>,
    /// Scores of the optimistic protocol, for comparison with published tables.
    pub optimistic_best_epoch_per_subject: BTreeMap<String, Scores>,
    /// Mean training loss per epoch over the folds.
    pub mean_loss_per_epoch: Vec<f64>,
    /// Pooled full-set UF1 had every fold stopped after each epoch: a
    /// diagnostic of how much the score depends on the schedule's length.
    /// The honest score is the last entry; nothing is chosen from this curve.
    #[serde(default)]
    pub uf1_by_epoch: Vec<f64>,
    pub config: EpirConfig,
    pub options: TrainOptions,
    pub seed: u64,
    pub epochs: usize,
    pub device: String,
    pub jobs: usize,
    pub wall_time_s: f64,
    pub finished_unix_s: u64,
    pub glimpse_version: String,
    pub command: String,
    pub folds: Vec<FoldResult>,
}

pub struct LosoSettings<'a> {
    pub config: &'a EpirConfig,
    pub options: &'a TrainOptions,
    pub device: Device,
    /// Folds trained at once (each on its own thread).
    pub jobs: usize,
    /// Run only the first N folds (in sorted order), for smoke tests.
    pub max_folds: Option<usize>,
    pub command: String,
}

/// Runs leave-one-subject-out over `dataset`. `progress` receives one line per
/// finished fold.
pub fn run_loso(
    dataset: &Dataset,
    settings: &LosoSettings<'_>,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<LosoReport, TrainError> {
    let started = Instant::now();
    let all_folds = dataset.folds();
    let folds: Vec<(&String, &Vec<usize>)> = all_folds.iter().take(settings.max_folds.unwrap_or(usize::MAX)).collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<FoldResult>>> = Mutex::new(vec![None; folds.len()]);
    let first_error: Mutex<Option<TrainError>> = Mutex::new(None);
    let jobs = settings.jobs.clamp(1, folds.len().max(1));

    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= folds.len() || failed.load(Ordering::SeqCst) {
                    break;
                }
                let (key, test_indices) = folds[index];
                match run_fold(dataset, key, test_indices, settings, index as u64) {
                    Ok(result) => {
                        let finished = done.fetch_add(1, Ordering::SeqCst) + 1;
                        let correct = result.truth.iter().zip(&result.predicted).filter(|(t, p)| t == p).count();
                        progress(&format!(
                            "fold {finished:>2}/{} {key:<14} {correct:>2}/{:<2} correct  loss {:.3} -> {:.3}  {:.1}s",
                            folds.len(),
                            result.truth.len(),
                            result.losses.first().copied().unwrap_or(f64::NAN),
                            result.losses.last().copied().unwrap_or(f64::NAN),
                            result.seconds,
                        ));
                        lock(&results)[index] = Some(result);
                    }
                    Err(err) => {
                        failed.store(true, Ordering::SeqCst);
                        lock(&first_error).get_or_insert(err);
                        break;
                    }
                }
            });
        }
    });
    if let Some(err) = lock(&first_error).take() {
        return Err(err);
    }
    let folds: Vec<FoldResult> = lock(&results).drain(..).flatten().collect();
    Ok(LosoReport {
        protocol: "leave-one-subject-out; honest = last epoch of a fixed schedule".into(),
        data: dataset.root.display().to_string(),
        samples: dataset.samples.len(),
        subjects: all_folds.len(),
        folds_run: folds.len(),
        honest: score_subsets(&folds, dataset.class_names.len(), |f| &f.predicted),
        honest_without_test_time_mirror: if settings.config.test_time_mirror {
            score_subsets(&folds, dataset.class_names.len(), |f| &f.predicted_without_mirror)
        } else {
            BTreeMap::new()
        },
        optimistic_best_epoch_per_subject: score_subsets(&folds, dataset.class_names.len(), |f| {
            &f.best_epoch_predicted
        }),
        mean_loss_per_epoch: mean_curve(&folds),
        uf1_by_epoch: (0..settings.options.epochs)
            .map(|epoch| {
                let scores = score_subsets(&folds, dataset.class_names.len(), |f| &f.predicted_by_epoch[epoch]);
                scores.get("full").map_or(0.0, |s| s.uf1)
            })
            .collect(),
        config: settings.config.clone(),
        options: settings.options.clone(),
        seed: settings.options.seed,
        epochs: settings.options.epochs,
        device: crate::device::describe(settings.device),
        jobs,
        wall_time_s: started.elapsed().as_secs_f64(),
        finished_unix_s: unix_now(),
        glimpse_version: env!("CARGO_PKG_VERSION").into(),
        command: settings.command.clone(),
        folds,
    })
}

fn run_fold(
    dataset: &Dataset,
    key: &str,
    test_indices: &[usize],
    settings: &LosoSettings<'_>,
    fold_index: u64,
) -> Result<FoldResult, TrainError> {
    let started = Instant::now();
    let test: Vec<&Sample> = test_indices.iter().map(|&i| &dataset.samples[i]).collect();
    let train_set: Vec<&Sample> = dataset.samples.iter().filter(|s| s.fold_key() != key).collect();
    let seed = settings.options.seed.wrapping_mul(1_000_003).wrapping_add(fold_index);
    let TrainedModel { losses, held_out_predictions, held_out_unmirrored, .. } =
        train(settings.config, &train_set, &test, settings.options, seed, settings.device)?;
    let truth: Vec<usize> = test.iter().map(|s| s.label).collect();
    let correct = |predicted: &Vec<usize>| truth.iter().zip(predicted).filter(|(t, p)| t == p).count();
    // Ties go to the later epoch, as in HTNet's reference code.
    let best_epoch = held_out_predictions
        .iter()
        .enumerate()
        .fold((0, 0), |best, (epoch, p)| if correct(p) >= best.1 { (epoch, correct(p)) } else { best })
        .0;
    Ok(FoldResult {
        fold: key.to_string(),
        samples: test.iter().map(|s| s.sample.clone()).collect(),
        datasets: test.iter().map(|s| s.dataset.clone()).collect(),
        predicted: held_out_predictions.last().cloned().unwrap_or_default(),
        best_epoch_predicted: held_out_predictions.get(best_epoch).cloned().unwrap_or_default(),
        best_epoch,
        predicted_by_epoch: held_out_predictions,
        predicted_without_mirror: held_out_unmirrored,
        truth,
        losses,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Pooled scores over all folds (`full`) and per source data set.
fn score_subsets(
    folds: &[FoldResult],
    classes: usize,
    predictions: impl Fn(&FoldResult) -> &Vec<usize>,
) -> BTreeMap<String, Scores> {
    scores_by_subset(
        classes,
        folds.iter().flat_map(|fold| {
            fold.datasets.iter().zip(&fold.truth).zip(predictions(fold)).map(|((d, &t), &p)| (d.as_str(), t, p))
        }),
    )
}

fn mean_curve(folds: &[FoldResult]) -> Vec<f64> {
    let epochs = folds.iter().map(|f| f.losses.len()).min().unwrap_or(0);
    (0..epochs).map(|e| folds.iter().map(|f| f.losses[e]).sum::<f64>() / folds.len() as f64).collect()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Subset rows in the order tables use: full first, then the source sets.
pub fn subset_order(scores: &BTreeMap<String, Scores>) -> Vec<(&String, &Scores)> {
    let mut rows: Vec<_> = scores.iter().collect();
    rows.sort_by_key(|(name, _)| (name.as_str() != "full", name.to_string()));
    rows
}

/// A plain-text table of a report's scores.
pub fn scores_table(report: &LosoReport) -> String {
    let mut out = String::new();
    out.push_str("subset     protocol                 UF1     UAR     acc     n\n");
    for (label, scores) in [
        ("honest (last epoch)", &report.honest),
        ("honest, no TT mirror", &report.honest_without_test_time_mirror),
        ("optimistic (best/subj)", &report.optimistic_best_epoch_per_subject),
    ] {
        for (name, s) in subset_order(scores) {
            out.push_str(&format!(
                "{name:<10} {label:<22} {:.4}  {:.4}  {:.4}  {}\n",
                s.uf1, s.uar, s.accuracy, s.samples
            ));
        }
    }
    out
}
