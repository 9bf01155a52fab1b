//! Seed ensembles scored from LOSO runs that differ only in their seed:
//! each held-out sample's class probabilities are averaged over the runs
//! and the ensemble predicts the most probable class. Every member was
//! trained without the test subject, so the ensemble is as honest as they
//! are; it has no epochs, so its "optimistic" scores are its honest ones.
use std::collections::BTreeMap;

use super::protocol::{assemble_report, FoldResult, LosoReport, ReportContext};
use super::split::development_folds;

#[derive(Debug, thiserror::Error)]
pub enum EnsembleError {
    #[error("an ensemble needs at least two runs, found {0}")]
    TooFewRuns(usize),
    #[error("run {run} has no class probabilities for fold {fold} (folds stored before 2026-11-28 lack them)")]
    NoProbabilities { run: usize, fold: String },
    #[error("run {run} lacks fold {fold}, which run 0 has")]
    MissingFold { run: usize, fold: String },
    #[error("run {run} scores other samples than run 0 in fold {fold}")]
    DifferentSamples { run: usize, fold: String },
    #[error("run {run} differs from run 0 in more than its seed: {what}")]
    DifferentRecipe { run: usize, what: String },
}

/// The ensemble of `runs` (same folds, same recipe but the seed) as a LOSO
/// report of its own.
pub fn ensemble_report(runs: &[LosoReport], command: String) -> Result<LosoReport, EnsembleError> {
    let first = runs.first().ok_or(EnsembleError::TooFewRuns(0))?;
    if runs.len() < 2 {
        return Err(EnsembleError::TooFewRuns(runs.len()));
    }
    for (run, report) in runs.iter().enumerate().skip(1) {
        let differs = |what: &str| Err(EnsembleError::DifferentRecipe { run, what: what.into() });
        if report.architecture != first.architecture {
            return differs("architecture");
        }
        if report.config != first.config {
            return differs("model config");
        }
        let mut options = report.options.clone();
        options.seed = first.options.seed;
        if options != first.options {
            return differs("training options");
        }
        if report.subjects_used != first.subjects_used {
            return differs("subjects");
        }
    }
    let by_fold: Vec<BTreeMap<&str, &FoldResult>> =
        runs.iter().map(|r| r.folds.iter().map(|f| (f.fold.as_str(), f)).collect()).collect();
    let mut folds = Vec::with_capacity(first.folds.len());
    for fold in &first.folds {
        let mut members = Vec::with_capacity(runs.len());
        for (run, folds_of_run) in by_fold.iter().enumerate() {
            let member = folds_of_run
                .get(fold.fold.as_str())
                .ok_or_else(|| EnsembleError::MissingFold { run, fold: fold.fold.clone() })?;
            if member.samples != fold.samples {
                return Err(EnsembleError::DifferentSamples { run, fold: fold.fold.clone() });
            }
            if member.probabilities.len() != member.truth.len() || member.truth.is_empty() {
                return Err(EnsembleError::NoProbabilities { run, fold: fold.fold.clone() });
            }
            members.push(*member);
        }
        folds.push(ensemble_fold(&members));
    }
    let all: BTreeMap<String, ()> = first.folds.iter().map(|f| (f.fold.clone(), ())).collect();
    let development = match first.subjects_used {
        // The split is a rule over all 68 subjects: a development run holds
        // only its own, so the held-out scores stay empty there anyway.
        super::split::Subjects::All => development_folds(&all),
        super::split::Subjects::Development => all.keys().cloned().collect(),
    };
    Ok(assemble_report(
        folds,
        &ReportContext {
            subjects: first.subjects_used,
            development,
            classes: first.config.class_names.len(),
            data: first.data.clone(),
            samples: first.samples,
            subject_count: first.subjects,
            config: first.config.clone(),
            options: first.options.clone(),
            device: first.device.clone(),
            jobs: first.jobs,
            wall_time_s: runs.iter().map(|r| r.wall_time_s).sum(),
            command,
        },
    ))
}

/// One fold of the ensemble: the members' mean probabilities and their
/// most probable class (ties to the lower class index).
fn ensemble_fold(members: &[&FoldResult]) -> FoldResult {
    let first = members[0];
    let classes = first.probabilities[0].len();
    let probabilities: Vec<Vec<f32>> = (0..first.truth.len())
        .map(|sample| {
            (0..classes)
                .map(|class| {
                    members.iter().map(|m| m.probabilities[sample].get(class).copied().unwrap_or(0.0)).sum::<f32>()
                        / members.len() as f32
                })
                .collect()
        })
        .collect();
    let predicted: Vec<usize> = probabilities.iter().map(|p| argmax(p)).collect();
    let epochs = members.iter().map(|m| m.losses.len()).min().unwrap_or(0);
    FoldResult {
        fold: first.fold.clone(),
        samples: first.samples.clone(),
        datasets: first.datasets.clone(),
        truth: first.truth.clone(),
        predicted: predicted.clone(),
        best_epoch: epochs.saturating_sub(1),
        best_epoch_predicted: predicted,
        predicted_without_mirror: Vec::new(),
        predicted_by_epoch: Vec::new(),
        probabilities,
        losses: (0..epochs).map(|e| members.iter().map(|m| m.losses[e]).sum::<f64>() / members.len() as f64).collect(),
        seconds: members.iter().map(|m| m.seconds).sum(),
        // Flow and landmark errors are per member (MOL): not averaged here.
        mol_losses: Vec::new(),
        flow_epe: None,
        landmark_nme: None,
        zero_flow_epe: None,
        training_fit: None,
    }
}

fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().fold(0, |best, (i, v)| if *v > values[best] { i } else { best })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(name: &str, truth: Vec<usize>, probabilities: Vec<Vec<f32>>) -> FoldResult {
        let predicted: Vec<usize> = probabilities.iter().map(|p| argmax(p)).collect();
        FoldResult {
            fold: name.into(),
            samples: (0..truth.len()).map(|i| format!("{name}-{i}")).collect(),
            datasets: vec![name.split('/').next().unwrap_or("x").into(); truth.len()],
            truth,
            predicted: predicted.clone(),
            best_epoch: 0,
            best_epoch_predicted: predicted.clone(),
            predicted_without_mirror: predicted.clone(),
            predicted_by_epoch: vec![predicted],
            probabilities,
            losses: vec![1.0, 0.5],
            seconds: 1.0,
            mol_losses: Vec::new(),
            flow_epe: None,
            landmark_nme: None,
            zero_flow_epe: None,
            training_fit: None,
        }
    }

    #[test]
    fn averaging_probabilities_can_fix_what_each_member_gets_wrong() {
        // Sample 0 (class 0): member A is sure of class 1 by a little, B of
        // class 0 by a lot: the mean says 0. Sample 1 (class 2): both lean
        // to 2. Sample 2 (class 1): A says 0 strongly, B says 1 weakly: 0.
        let a = fold("casme2/sub01", vec![0, 2, 1], vec![vec![0.45, 0.55, 0.0], vec![0.1, 0.2, 0.7], vec![0.9, 0.1, 0.0]]);
        let b = fold("casme2/sub01", vec![0, 2, 1], vec![vec![0.9, 0.1, 0.0], vec![0.3, 0.1, 0.6], vec![0.3, 0.4, 0.3]]);
        let merged = ensemble_fold(&[&a, &b]);
        assert_eq!(merged.predicted, vec![0, 2, 0]);
        assert!((merged.probabilities[0][0] - 0.675).abs() < 1e-6);
        assert!((merged.probabilities[2][1] - 0.25).abs() < 1e-6);
        assert_eq!(merged.losses, vec![1.0, 0.5]);
        assert!(merged.predicted_by_epoch.is_empty());
    }

    #[test]
    fn members_must_share_folds_samples_and_probabilities() {
        let a = fold("smic/s01", vec![0, 1], vec![vec![0.8, 0.2, 0.0], vec![0.2, 0.8, 0.0]]);
        let mut no_probabilities = a.clone();
        no_probabilities.probabilities.clear();
        let mut other_samples = a.clone();
        other_samples.samples[1] = "smic/s01-other".into();
        let members: Vec<(FoldResult, &str)> =
            vec![(no_probabilities, "no class probabilities"), (other_samples, "other samples")];
        for (member, expected) in members {
            let message = ensemble_fold_checked(&a, &member);
            assert!(message.contains(expected), "{message}");
        }
    }

    fn report_of(folds: Vec<FoldResult>, seed: u64) -> LosoReport {
        let options = crate::train::TrainOptions { seed, ..Default::default() };
        assemble_report(
            folds,
            &ReportContext {
                subjects: crate::train::split::Subjects::Development,
                development: Default::default(),
                classes: 3,
                data: "test".into(),
                samples: 4,
                subject_count: 2,
                config: crate::model::EpirConfig::default(),
                options,
                device: "cpu".into(),
                jobs: 1,
                wall_time_s: 1.0,
                command: String::new(),
            },
        )
    }

    /// The checks of `ensemble_report`, on one fold of two runs.
    fn ensemble_fold_checked(a: &FoldResult, b: &FoldResult) -> String {
        ensemble_report(&[report_of(vec![a.clone()], 1), report_of(vec![b.clone()], 2)], String::new())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn an_ensemble_report_scores_the_averaged_predictions() {
        let a = vec![
            fold("casme2/sub01", vec![0, 1], vec![vec![0.6, 0.4, 0.0], vec![0.7, 0.3, 0.0]]),
            fold("samm/006", vec![2, 2], vec![vec![0.1, 0.1, 0.8], vec![0.5, 0.0, 0.5]]),
        ];
        let b = vec![
            fold("casme2/sub01", vec![0, 1], vec![vec![0.45, 0.55, 0.0], vec![0.1, 0.9, 0.0]]),
            fold("samm/006", vec![2, 2], vec![vec![0.2, 0.0, 0.8], vec![0.2, 0.0, 0.8]]),
        ];
        let (run_a, run_b) = (report_of(a, 1), report_of(b, 2));
        // Alone, A gets 2 of 4 right and B 3 of 4; the mean gets all 4.
        assert!((run_a.honest["full"].accuracy - 0.5).abs() < 1e-9);
        assert!((run_b.honest["full"].accuracy - 0.75).abs() < 1e-9);
        let merged = ensemble_report(&[run_a.clone(), run_b.clone()], "ensemble".into()).expect("ensemble");
        assert!((merged.honest["full"].accuracy - 1.0).abs() < 1e-9, "{:?}", merged.honest["full"]);
        assert_eq!(merged.folds.len(), 2);
        assert_eq!(merged.command, "ensemble");
        assert!(merged.uf1_by_epoch.is_empty());
        let mut other_recipe = run_a.clone();
        other_recipe.options.epochs += 1;
        let message = ensemble_report(&[run_a.clone(), other_recipe], String::new()).expect_err("recipe").to_string();
        assert!(message.contains("training options"), "{message}");
        let message = ensemble_report(&[run_a], String::new()).expect_err("one run").to_string();
        assert!(message.contains("at least two"), "{message}");
    }
}
