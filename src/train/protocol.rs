//! Leave-one-subject-out evaluation and the final all-data training.
//!
//! Honest protocol: one schedule fixed in advance, the last epoch's model
//! scored on the held-out subject. The papers' optimistic protocol (for each
//! subject, the epoch that scored best on that very subject) is computed from
//! the same runs and reported separately, labelled as such.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::Device;

use super::baseline::{train_ststnet, BaselineRun};
use super::mol_trainer::{train_mol, MolLosses, MolRun, MolSample};
use super::dataset::{Dataset, Sample};
use super::fold_store::FoldStore;
use super::metrics::{bootstrap_over_subjects, scores_by_subset, Interval, Scores};
use super::split::{development_folds, Subjects};
use super::trainer::{train, TrainError, TrainOptions, TrainedModel};
use super::calibration::{calibrate_subjects, CalibrationReport, SubjectProbabilities};
use crate::model::ststnet::Architecture;
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
    /// Last-epoch class probabilities per sample (folds stored before
    /// 2026-11-28 have none), for calibration.
    #[serde(default)]
    pub probabilities: Vec<Vec<f32>>,
    pub losses: Vec<f64>,
    pub seconds: f64,
    /// MOL: each epoch's three training losses, unweighted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mol_losses: Vec<MolLosses>,
    /// MOL: last-epoch flow end-point error on the held-out subject's
    /// rendered clips, in pixels of the frame side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_epe: Option<f64>,
    /// MOL: last-epoch landmark NME (mean distance / inter-ocular) there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landmark_nme: Option<f64>,
    /// MOL: the held-out EPE of a flow of zero (the mean target magnitude;
    /// folds stored before 2026-12-07 have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zero_flow_epe: Option<f64>,
    /// MOL: the trained model's scores on one rendering of its own
    /// training samples, in evaluation mode (folds stored before 2026-12-07
    /// have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_fit: Option<Scores>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LosoReport {
    pub protocol: String,
    pub data: String,
    pub samples: usize,
    pub subjects: usize,
    pub folds_run: usize,
    /// The subjects trained and scored on (`development`: recipe choices).
    #[serde(default)]
    pub subjects_used: Subjects,
    /// Scores of the honest protocol: `full` and one entry per source set.
    pub honest: BTreeMap<String, Scores>,
    /// 95 % bootstrap intervals over subjects of the honest UF1 and UAR,
    /// per subset.
    #[serde(default)]
    pub honest_intervals: BTreeMap<String, ScoreIntervals>,
    /// A run over all subjects scored on the held-out ones alone (those
    /// never used for a recipe choice), with their intervals.
    #[serde(default)]
    pub honest_held_out: BTreeMap<String, Scores>,
    #[serde(default)]
    pub honest_held_out_intervals: BTreeMap<String, ScoreIntervals>,
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
    /// Temperature scaling fitted on the folds' probabilities, scored by
    /// cross-fitting (absent when a fold has no probabilities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<CalibrationReport>,
    /// The network trained and scored (reports before it were all EPIR).
    #[serde(default)]
    pub architecture: Architecture,
    /// EPIR's architecture; for STSTNet only its class names are used.
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

/// 95 % intervals of a subset's scores.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreIntervals {
    pub uf1: Interval,
    pub uar: Interval,
}

pub struct LosoSettings<'a> {
    pub config: &'a EpirConfig,
    pub subjects: Subjects,
    /// Finished folds of this recipe: read back instead of trained, and
    /// each new one written as it finishes.
    pub store: Option<&'a FoldStore>,
    pub options: &'a TrainOptions,
    pub device: Device,
    /// Folds trained at once (each on its own thread).
    pub jobs: usize,
    /// Run only the first N folds (in sorted order), for smoke tests.
    pub max_folds: Option<usize>,
    pub command: String,
    /// MOL's inputs, one per data set sample in its order (MOL-lite only).
    pub mol_samples: Option<&'a [MolSample]>,
}

/// Runs leave-one-subject-out over `dataset`. `progress` receives one line per
/// finished fold.
pub fn run_loso(
    dataset: &Dataset,
    settings: &LosoSettings<'_>,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<LosoReport, TrainError> {
    let started = Instant::now();
    let epir = settings.options.architecture.is_epir();
    if settings.config.test_time_mirror && !epir {
        return Err(TrainError::InvalidOptions(
            "the test-time mirror is EPIR's; STSTNet is scored as published".into(),
        ));
    }
    let all_folds = dataset.folds();
    let development = development_folds(&all_folds);
    // Development runs train and score among the development subjects only.
    let pool: BTreeSet<String> = match settings.subjects {
        Subjects::All => all_folds.keys().cloned().collect(),
        Subjects::Development => development.clone(),
    };
    let folds: Vec<(&String, &Vec<usize>)> = all_folds
        .iter()
        .filter(|(key, _)| pool.contains(*key))
        .take(settings.max_folds.unwrap_or(usize::MAX))
        .collect();
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
                let stored = settings.store.map(|store| store.load(key)).transpose().map(Option::flatten);
                let outcome = match stored {
                    Ok(Some(result)) => Ok((result, true)),
                    Ok(None) => run_fold(dataset, key, test_indices, &pool, settings, index as u64).and_then(|result| {
                        if let Some(store) = settings.store {
                            store.save(&result)?;
                        }
                        Ok((result, false))
                    }),
                    Err(e) => Err(TrainError::FoldStore(e)),
                };
                match outcome {
                    Ok((result, was_stored)) => {
                        let finished = done.fetch_add(1, Ordering::SeqCst) + 1;
                        let correct = result.truth.iter().zip(&result.predicted).filter(|(t, p)| t == p).count();
                        progress(&format!(
                            "fold {finished:>2}/{} {key:<14} {correct:>2}/{:<2} correct  loss {:.3} -> {:.3}  {:.1}s{}{}",
                            folds.len(),
                            result.truth.len(),
                            result.losses.first().copied().unwrap_or(f64::NAN),
                            result.losses.last().copied().unwrap_or(f64::NAN),
                            result.seconds,
                            match (result.flow_epe, result.landmark_nme) {
                                (Some(epe), Some(nme)) => format!("  flow EPE {epe:.3} px  landmark NME {nme:.3}"),
                                _ => String::new(),
                            },
                            if was_stored { "  (stored: not trained again)" } else { "" },
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
    Ok(assemble_report(
        folds,
        &ReportContext {
            subjects: settings.subjects,
            development,
            classes: dataset.class_names.len(),
            data: dataset.root.display().to_string(),
            samples: dataset.samples.len(),
            subject_count: pool.len(),
            config: settings.config.clone(),
            options: settings.options.clone(),
            device: crate::device::describe(settings.device),
            jobs,
            wall_time_s: started.elapsed().as_secs_f64(),
            command: settings.command.clone(),
        },
    ))
}

/// What a report says besides its folds.
pub struct ReportContext {
    pub subjects: Subjects,
    /// The development subjects (of all 68), for the held-out scores.
    pub development: BTreeSet<String>,
    pub classes: usize,
    pub data: String,
    pub samples: usize,
    /// Subjects trained and scored on.
    pub subject_count: usize,
    pub config: EpirConfig,
    pub options: TrainOptions,
    pub device: String,
    pub jobs: usize,
    pub wall_time_s: f64,
    pub command: String,
}

/// Scores, intervals, held-out scores, curves and calibration of `folds`.
pub fn assemble_report(folds: Vec<FoldResult>, context: &ReportContext) -> LosoReport {
    let classes = context.classes;
    let held_out: Vec<FoldResult> = match context.subjects {
        Subjects::All => folds.iter().filter(|f| !context.development.contains(&f.fold)).cloned().collect(),
        Subjects::Development => Vec::new(),
    };
    let seed = context.options.seed;
    let epir = context.options.architecture.is_epir();
    // Every fold has its per-epoch predictions (a seed ensemble has none).
    let epochs_scored = folds.iter().map(|f| f.predicted_by_epoch.len()).min().unwrap_or(0);
    LosoReport {
        subjects_used: context.subjects,
        honest_intervals: intervals_by_subset(&folds, classes, seed),
        honest_held_out: if held_out.is_empty() {
            BTreeMap::new()
        } else {
            score_subsets(&held_out, classes, |f| &f.predicted)
        },
        honest_held_out_intervals: intervals_by_subset(&held_out, classes, seed),
        protocol: "leave-one-subject-out; honest = last epoch of a fixed schedule".into(),
        data: context.data.clone(),
        samples: context.samples,
        subjects: context.subject_count,
        folds_run: folds.len(),
        honest: score_subsets(&folds, classes, |f| &f.predicted),
        honest_without_test_time_mirror: if context.config.test_time_mirror
            && epir
            && folds.iter().all(|f| f.predicted_without_mirror.len() == f.truth.len())
        {
            score_subsets(&folds, classes, |f| &f.predicted_without_mirror)
        } else {
            BTreeMap::new()
        },
        optimistic_best_epoch_per_subject: score_subsets(&folds, classes, |f| &f.best_epoch_predicted),
        mean_loss_per_epoch: mean_curve(&folds),
        uf1_by_epoch: (0..epochs_scored)
            .map(|epoch| {
                let scores = score_subsets(&folds, classes, |f| &f.predicted_by_epoch[epoch]);
                scores.get("full").map_or(0.0, |s| s.uf1)
            })
            .collect(),
        calibration: calibration_of(&folds),
        architecture: context.options.architecture,
        config: context.config.clone(),
        options: context.options.clone(),
        seed,
        epochs: context.options.epochs,
        device: context.device.clone(),
        jobs: context.jobs,
        wall_time_s: context.wall_time_s,
        finished_unix_s: unix_now(),
        glimpse_version: env!("CARGO_PKG_VERSION").into(),
        command: context.command.clone(),
        folds,
    }
}

/// Temperature scaling over the folds (subjects), when every fold has its
/// probabilities.
fn calibration_of(folds: &[FoldResult]) -> Option<CalibrationReport> {
    if folds.iter().any(|f| f.probabilities.len() != f.truth.len()) {
        return None;
    }
    let subjects: Vec<SubjectProbabilities> =
        folds.iter().map(|f| f.truth.iter().copied().zip(f.probabilities.iter().cloned()).collect()).collect();
    calibrate_subjects(&subjects)
}

/// Honest UF1/UAR intervals per subset (`full` and each source set), each
/// subject's predictions resampled as one unit.
fn intervals_by_subset(folds: &[FoldResult], classes: usize, seed: u64) -> BTreeMap<String, ScoreIntervals> {
    let mut subsets: BTreeMap<String, Vec<Vec<(usize, usize)>>> = BTreeMap::new();
    for fold in folds {
        let pairs: Vec<(usize, usize)> = fold.truth.iter().copied().zip(fold.predicted.iter().copied()).collect();
        subsets.entry("full".into()).or_default().push(pairs.clone());
        if let Some(dataset) = fold.datasets.first() {
            subsets.entry(dataset.clone()).or_default().push(pairs);
        }
    }
    subsets
        .into_iter()
        .map(|(name, subjects)| {
            let (uf1, uar) = bootstrap_over_subjects(&subjects, classes, seed);
            (name, ScoreIntervals { uf1, uar })
        })
        .collect()
}

fn run_fold(
    dataset: &Dataset,
    key: &str,
    test_indices: &[usize],
    pool: &BTreeSet<String>,
    settings: &LosoSettings<'_>,
    fold_index: u64,
) -> Result<FoldResult, TrainError> {
    let started = Instant::now();
    let test: Vec<&Sample> = test_indices.iter().map(|&i| &dataset.samples[i]).collect();
    let train_set: Vec<&Sample> = dataset
        .samples
        .iter()
        .filter(|s| {
            let fold = s.fold_key();
            fold != key && pool.contains(&fold)
        })
        .collect();
    let seed = settings.options.seed.wrapping_mul(1_000_003).wrapping_add(fold_index);
    let mut mol_extras = (Vec::new(), None, None, None, None);
    let (losses, held_out_predictions, held_out_unmirrored, held_out_probabilities) =
        match settings.options.architecture {
            Architecture::Epir => {
                let TrainedModel {
                    losses, held_out_predictions, held_out_unmirrored, held_out_probabilities, ..
                } = train(settings.config, &train_set, &test, settings.options, seed, settings.device)?;
                (losses, held_out_predictions, held_out_unmirrored, held_out_probabilities)
            }
            Architecture::Ststnet => {
                let classes = settings.config.class_names.len();
                let BaselineRun { losses, held_out_predictions, .. } =
                    train_ststnet(&train_set, &test, classes, settings.options, seed, settings.device)?;
                (losses, held_out_predictions, Vec::new(), Vec::new())
            }
            Architecture::MolLite => {
                let inputs = settings.mol_samples.ok_or_else(|| {
                    TrainError::InvalidOptions("MOL-lite needs its apex inputs (`mol_samples`)".into())
                })?;
                if inputs.len() != dataset.samples.len() {
                    return Err(TrainError::InvalidOptions(format!(
                        "{} MOL inputs for {} samples",
                        inputs.len(),
                        dataset.samples.len()
                    )));
                }
                let test_inputs: Vec<&MolSample> = test_indices.iter().map(|&i| &inputs[i]).collect();
                let train_inputs: Vec<&MolSample> = dataset
                    .samples
                    .iter()
                    .zip(inputs)
                    .filter(|(s, _)| {
                        let fold = s.fold_key();
                        fold != key && pool.contains(&fold)
                    })
                    .map(|(_, input)| input)
                    .collect();
                let MolRun {
                    losses,
                    loss_parts,
                    held_out_predictions,
                    held_out_probabilities,
                    held_out_flow_epe,
                    held_out_landmark_nme,
                    held_out_zero_flow_epe,
                    training_fit,
                    ..
                } = train_mol(&train_inputs, &test_inputs, settings.options, seed, settings.device)?;
                mol_extras =
                    (loss_parts, held_out_flow_epe, held_out_landmark_nme, held_out_zero_flow_epe, training_fit);
                (losses, held_out_predictions, Vec::new(), held_out_probabilities)
            }
        };
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
        probabilities: held_out_probabilities,
        truth,
        losses,
        seconds: started.elapsed().as_secs_f64(),
        mol_losses: mol_extras.0,
        flow_epe: mol_extras.1,
        landmark_nme: mol_extras.2,
        zero_flow_epe: mol_extras.3,
        training_fit: mol_extras.4,
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

/// A plain-text table of a report's scores, with the honest ones' 95 %
/// bootstrap intervals over subjects.
pub fn scores_table(report: &LosoReport) -> String {
    let mut out = String::new();
    out.push_str("subset     protocol                 UF1     UAR     acc     n    UF1 95 % CI       UAR 95 % CI\n");
    let none = BTreeMap::new();
    for (label, scores, intervals) in [
        ("honest (last epoch)", &report.honest, &report.honest_intervals),
        ("honest, held-out subj.", &report.honest_held_out, &report.honest_held_out_intervals),
        ("honest, no TT mirror", &report.honest_without_test_time_mirror, &none),
        ("optimistic (best/subj)", &report.optimistic_best_epoch_per_subject, &none),
    ] {
        for (name, s) in subset_order(scores) {
            let ci = intervals.get(name).map_or_else(String::new, |i| {
                format!("  [{:.3}, {:.3}]  [{:.3}, {:.3}]", i.uf1.low, i.uf1.high, i.uar.low, i.uar.high)
            });
            out.push_str(&format!(
                "{name:<10} {label:<22} {:.4}  {:.4}  {:.4}  {:<4}{ci}\n",
                s.uf1, s.uar, s.accuracy, s.samples
            ));
        }
    }
    if let Some(c) = &report.calibration {
        out.push_str(&format!(
            "calibration: T = {:.3} (fitted on all subjects); ECE {:.3} uncalibrated, {:.3} calibrated \
             (each subject with a T fitted on the others); NLL {:.3} -> {:.3}\n",
            c.temperature, c.ece_uncalibrated, c.ece_calibrated, c.nll_uncalibrated, c.nll_calibrated
        ));
    }
    out
}
