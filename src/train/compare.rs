//! Two LOSO runs compared on the subjects both scored: the difference of
//! their pooled honest UF1 and UAR, with a paired bootstrap interval. Each
//! resample draws subjects with replacement and scores both runs on the same
//! draw, so what the subjects share (an easy or a hard person) cancels, and
//! the interval is that of the difference, not of either score.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::metrics::{percentile_interval, Confusion, Interval, BOOTSTRAP_RESAMPLES};
use super::protocol::{FoldResult, LosoReport};

#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("the two runs share no scored subject")]
    NoSharedSubject,
    #[error("subject {fold} was scored on other samples in the two runs ({a} and {b} samples, or another order)")]
    DifferentSamples { fold: String, a: usize, b: usize },
    #[error("the runs have {a} and {b} classes")]
    DifferentClasses { a: usize, b: usize },
}

/// B − A on one subset of the shared subjects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    pub subset: String,
    pub subjects: usize,
    pub samples: usize,
    pub uf1_a: f64,
    pub uf1_b: f64,
    pub uf1_difference: f64,
    pub uf1_difference_interval: Interval,
    pub uar_a: f64,
    pub uar_b: f64,
    pub uar_difference: f64,
    pub uar_difference_interval: Interval,
}

impl Difference {
    /// Whether the 95 % interval of the UF1 difference excludes 0.
    pub fn uf1_differs(&self) -> bool {
        self.uf1_difference_interval.low > 0.0 || self.uf1_difference_interval.high < 0.0
    }
}

/// Per-subject (truth, A's prediction, B's prediction).
type SubjectOutcomes = Vec<(usize, usize, usize)>;

/// Paired bootstrap of B − A over subjects (pooled UF1 and UAR).
pub fn paired_difference(subset: &str, subjects: &[SubjectOutcomes], classes: usize, seed: u64) -> Difference {
    let score = |draw: &mut dyn Iterator<Item = &SubjectOutcomes>| {
        let (mut a, mut b) = (Confusion::new(classes), Confusion::new(classes));
        for outcomes in draw {
            for &(truth, pa, pb) in outcomes {
                a.add(truth, pa);
                b.add(truth, pb);
            }
        }
        (a.scores(), b.scores())
    };
    let (a, b) = score(&mut subjects.iter());
    let mut rng = super::augment::Rng::new(seed);
    let (mut uf1s, mut uars) = (Vec::with_capacity(BOOTSTRAP_RESAMPLES), Vec::with_capacity(BOOTSTRAP_RESAMPLES));
    for _ in 0..BOOTSTRAP_RESAMPLES {
        let picks: Vec<usize> = (0..subjects.len()).map(|_| rng.below(subjects.len())).collect();
        let (ra, rb) = score(&mut picks.iter().map(|&i| &subjects[i]));
        uf1s.push(rb.uf1 - ra.uf1);
        uars.push(rb.uar - ra.uar);
    }
    Difference {
        subset: subset.into(),
        subjects: subjects.len(),
        samples: subjects.iter().map(Vec::len).sum(),
        uf1_a: a.uf1,
        uf1_b: b.uf1,
        uf1_difference: b.uf1 - a.uf1,
        uf1_difference_interval: percentile_interval(&mut uf1s),
        uar_a: a.uar,
        uar_b: b.uar,
        uar_difference: b.uar - a.uar,
        uar_difference_interval: percentile_interval(&mut uars),
    }
}

/// B − A on the subjects both runs scored (`full` and each source set),
/// optionally only those `keep` accepts (e.g. the held-out subjects).
pub fn compare_runs(
    a: &LosoReport,
    b: &LosoReport,
    keep: &dyn Fn(&str) -> bool,
    seed: u64,
) -> Result<Vec<Difference>, CompareError> {
    let classes = a.config.class_names.len();
    if b.config.class_names.len() != classes {
        return Err(CompareError::DifferentClasses { a: classes, b: b.config.class_names.len() });
    }
    let b_folds: BTreeMap<&str, &FoldResult> = b.folds.iter().map(|f| (f.fold.as_str(), f)).collect();
    let mut subsets: BTreeMap<String, Vec<SubjectOutcomes>> = BTreeMap::new();
    for fa in a.folds.iter().filter(|f| keep(&f.fold)) {
        let Some(fb) = b_folds.get(fa.fold.as_str()) else { continue };
        if fa.samples != fb.samples || fa.truth != fb.truth {
            return Err(CompareError::DifferentSamples {
                fold: fa.fold.clone(),
                a: fa.samples.len(),
                b: fb.samples.len(),
            });
        }
        let outcomes: SubjectOutcomes = fa
            .truth
            .iter()
            .zip(fa.predicted.iter().zip(&fb.predicted))
            .map(|(&t, (&pa, &pb))| (t, pa, pb))
            .collect();
        subsets.entry("full".into()).or_default().push(outcomes.clone());
        if let Some(dataset) = fa.datasets.first() {
            subsets.entry(dataset.clone()).or_default().push(outcomes);
        }
    }
    if subsets.is_empty() {
        return Err(CompareError::NoSharedSubject);
    }
    // `full` first, then the source sets.
    let mut ordered: Vec<(String, Vec<SubjectOutcomes>)> = subsets.into_iter().collect();
    ordered.sort_by_key(|(name, _)| (name != "full", name.clone()));
    Ok(ordered.iter().map(|(name, subjects)| paired_difference(name, subjects, classes, seed)).collect())
}

/// The comparison as a table.
pub fn difference_table(differences: &[Difference]) -> String {
    let mut out = String::from(
        "subset      subjects  UF1 A   UF1 B   B-A (95% paired)           UAR A   UAR B   B-A (95% paired)\n",
    );
    for d in differences {
        out.push_str(&format!(
            "{:<11} {:>8}  {:.4}  {:.4}  {:+.4} [{:+.4}, {:+.4}]{}  {:.4}  {:.4}  {:+.4} [{:+.4}, {:+.4}]\n",
            d.subset,
            d.subjects,
            d.uf1_a,
            d.uf1_b,
            d.uf1_difference,
            d.uf1_difference_interval.low,
            d.uf1_difference_interval.high,
            if d.uf1_differs() { " *" } else { "  " },
            d.uar_a,
            d.uar_b,
            d.uar_difference,
            d.uar_difference_interval.low,
            d.uar_difference_interval.high,
        ));
    }
    out.push_str("* the 95 % interval of the UF1 difference excludes 0\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `right` of each subject's four samples right in A, `right_b` in B.
    fn subjects(count: usize, right_b: usize) -> Vec<SubjectOutcomes> {
        (0..count)
            .map(|k| {
                (0..4)
                    .map(|i| {
                        let truth = (k + i) % 3;
                        let a = if i < 2 { truth } else { (truth + 1) % 3 };
                        let b = if i < right_b { truth } else { (truth + 1) % 3 };
                        (truth, a, b)
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_run_right_more_often_on_every_subject_differs_and_equal_runs_do_not() {
        let better = paired_difference("full", &subjects(30, 3), 3, 5);
        assert!(better.uf1_b > better.uf1_a && better.uf1_difference > 0.2, "{better:?}");
        assert!(better.uf1_differs() && better.uf1_difference_interval.low > 0.1, "{better:?}");
        assert_eq!((better.subjects, better.samples), (30, 120));
        let same = paired_difference("full", &subjects(30, 2), 3, 5);
        assert_eq!(same.uf1_difference, 0.0);
        assert_eq!((same.uf1_difference_interval.low, same.uf1_difference_interval.high), (0.0, 0.0));
        assert!(!same.uf1_differs());
    }

    #[test]
    fn pairing_cancels_what_subjects_share() {
        // B is right on exactly one more sample of every subject than A, while
        // subjects differ widely in how hard they are: the paired interval of
        // the difference is narrow although each score's own spread is wide.
        let mixed: Vec<SubjectOutcomes> = (0..40)
            .map(|k| {
                let right_a = k % 4;
                (0..5)
                    .map(|i| {
                        let truth = (k + i) % 3;
                        let wrong = (truth + 1) % 3;
                        (truth, if i < right_a { truth } else { wrong }, if i <= right_a { truth } else { wrong })
                    })
                    .collect()
            })
            .collect();
        let d = paired_difference("full", &mixed, 3, 9);
        assert!(d.uf1_difference > 0.15 && d.uf1_differs(), "{d:?}");
        assert!(d.uf1_difference_interval.high - d.uf1_difference_interval.low < 0.15, "{d:?}");
    }
}
