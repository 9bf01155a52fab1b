//! MEGC2019 recognition metrics over pooled predictions: UF1 is the mean of
//! per-class F1, UAR the mean of per-class recall. As in the MEGC reference
//! evaluation, a class absent from the ground truth of the scored subset is
//! left out of both means.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Confusion {
    /// `counts[truth][predicted]`.
    pub counts: Vec<Vec<u64>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub samples: u64,
    pub uf1: f64,
    pub uar: f64,
    pub accuracy: f64,
    pub per_class_f1: Vec<Option<f64>>,
    pub per_class_recall: Vec<Option<f64>>,
    pub confusion: Vec<Vec<u64>>,
}

impl Confusion {
    pub fn new(classes: usize) -> Self {
        Self { counts: vec![vec![0; classes]; classes] }
    }

    pub fn from_pairs(classes: usize, pairs: impl IntoIterator<Item = (usize, usize)>) -> Self {
        let mut confusion = Self::new(classes);
        for (truth, predicted) in pairs {
            confusion.add(truth, predicted);
        }
        confusion
    }

    pub fn add(&mut self, truth: usize, predicted: usize) {
        self.counts[truth][predicted] += 1;
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    fn support(&self, class: usize) -> u64 {
        self.counts[class].iter().sum()
    }

    fn predicted(&self, class: usize) -> u64 {
        self.counts.iter().map(|row| row[class]).sum()
    }

    /// F1 of one class, `None` when the class has no ground-truth samples.
    pub fn f1(&self, class: usize) -> Option<f64> {
        let tp = self.counts[class][class];
        let support = self.support(class);
        if support == 0 {
            return None;
        }
        let fp = self.predicted(class) - tp;
        let fn_ = support - tp;
        Some(2.0 * tp as f64 / (2 * tp + fp + fn_) as f64)
    }

    pub fn recall(&self, class: usize) -> Option<f64> {
        let support = self.support(class);
        (support > 0).then(|| self.counts[class][class] as f64 / support as f64)
    }

    pub fn scores(&self) -> Scores {
        let classes = self.counts.len();
        let f1: Vec<Option<f64>> = (0..classes).map(|c| self.f1(c)).collect();
        let recall: Vec<Option<f64>> = (0..classes).map(|c| self.recall(c)).collect();
        let mean = |values: &[Option<f64>]| {
            let present: Vec<f64> = values.iter().flatten().copied().collect();
            if present.is_empty() {
                0.0
            } else {
                present.iter().sum::<f64>() / present.len() as f64
            }
        };
        let total = self.total();
        let correct: u64 = (0..classes).map(|c| self.counts[c][c]).sum();
        Scores {
            samples: total,
            uf1: mean(&f1),
            uar: mean(&recall),
            accuracy: if total == 0 { 0.0 } else { correct as f64 / total as f64 },
            per_class_f1: f1,
            per_class_recall: recall,
            confusion: self.counts.clone(),
        }
    }
}

/// Pooled scores over everything (`full`) and per source data set, from
/// (source data set, truth, predicted) triples.
pub fn scores_by_subset<'a>(
    classes: usize,
    outcomes: impl IntoIterator<Item = (&'a str, usize, usize)>,
) -> BTreeMap<String, Scores> {
    let mut confusions: BTreeMap<String, Confusion> = BTreeMap::new();
    for (dataset, truth, predicted) in outcomes {
        for subset in ["full", dataset] {
            confusions.entry(subset.to_string()).or_insert_with(|| Confusion::new(classes)).add(truth, predicted);
        }
    }
    confusions.into_iter().map(|(name, c)| (name, c.scores())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_three_class_case() {
        // truth\pred:   neg pos sur
        // neg            4   1   0
        // pos            1   2   0
        // sur            0   1   1
        let mut pairs = vec![(0, 0); 4];
        pairs.extend([(0, 1), (1, 0), (1, 1), (1, 1), (2, 1), (2, 2)]);
        let scores = Confusion::from_pairs(3, pairs).scores();
        // F1: neg 2*4/(8+1+1) = 0.8; pos 2*2/(4+2+1) = 4/7; sur 2*1/(2+0+1) = 2/3.
        let uf1 = (0.8 + 4.0 / 7.0 + 2.0 / 3.0) / 3.0;
        // Recall: 4/5, 2/3, 1/2.
        let uar = (0.8 + 2.0 / 3.0 + 0.5) / 3.0;
        assert!((scores.uf1 - uf1).abs() < 1e-12, "{}", scores.uf1);
        assert!((scores.uar - uar).abs() < 1e-12, "{}", scores.uar);
        assert!((scores.accuracy - 7.0 / 10.0).abs() < 1e-12);
        assert_eq!(scores.samples, 10);
    }

    #[test]
    fn a_class_missing_from_the_truth_is_left_out_but_a_never_predicted_one_scores_zero() {
        // Only negatives and positives in the truth; surprise never occurs.
        let scores = Confusion::from_pairs(3, [(0, 0), (0, 0), (1, 0)]).scores();
        assert_eq!(scores.per_class_f1[2], None);
        assert_eq!(scores.per_class_f1[1], Some(0.0));
        // neg F1 = 4/(4+1+0) = 0.8; UF1 over the two present classes.
        assert!((scores.uf1 - 0.4).abs() < 1e-12);
        assert!((scores.uar - 0.5).abs() < 1e-12);
    }

    #[test]
    fn subsets_pool_their_own_samples_and_full_pools_all() {
        let scores = scores_by_subset(3, [("samm", 0, 0), ("samm", 1, 0), ("smic", 2, 2)]);
        assert_eq!(scores.keys().collect::<Vec<_>>(), vec!["full", "samm", "smic"]);
        assert_eq!(scores["full"].samples, 3);
        assert_eq!(scores["samm"].samples, 2);
        assert_eq!(scores["smic"].accuracy, 1.0);
        assert!((scores["samm"].accuracy - 0.5).abs() < 1e-12);
    }

    #[test]
    fn perfect_predictions_score_one() {
        let scores = Confusion::from_pairs(3, [(0, 0), (1, 1), (2, 2), (2, 2)]).scores();
        assert_eq!((scores.uf1, scores.uar, scores.accuracy), (1.0, 1.0, 1.0));
    }
}

/// A 95 % interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// Bootstrap resamples behind every interval reported.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;

/// 95 % percentile-bootstrap intervals of the pooled UF1 and UAR over
/// subjects: `subjects` holds each subject's (truth, predicted) pairs, and
/// each resample draws as many subjects with replacement and pools them.
/// Subjects, not samples, are the unit: samples of one person are not
/// independent.
pub fn bootstrap_over_subjects(subjects: &[Vec<(usize, usize)>], classes: usize, seed: u64) -> (Interval, Interval) {
    let mut rng = crate::train::augment::Rng::new(seed);
    let (mut uf1s, mut uars) = (Vec::with_capacity(BOOTSTRAP_RESAMPLES), Vec::with_capacity(BOOTSTRAP_RESAMPLES));
    if subjects.is_empty() {
        let nan = Interval { low: f64::NAN, high: f64::NAN };
        return (nan, nan);
    }
    for _ in 0..BOOTSTRAP_RESAMPLES {
        let mut confusion = Confusion::new(classes);
        for _ in 0..subjects.len() {
            for &(truth, predicted) in &subjects[rng.below(subjects.len())] {
                confusion.add(truth, predicted);
            }
        }
        let scores = confusion.scores();
        uf1s.push(scores.uf1);
        uars.push(scores.uar);
    }
    (percentile_interval(&mut uf1s), percentile_interval(&mut uars))
}

pub(crate) fn percentile_interval(values: &mut [f64]) -> Interval {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    Interval { low: at(0.025), high: at(0.975) }
}

#[cfg(test)]
mod bootstrap_tests {
    use super::*;

    #[test]
    fn the_interval_holds_the_pooled_score_narrows_with_subjects_and_repeats() {
        // Each subject: 4 samples, 3 right.
        let subject = |k: usize| vec![(k % 3, k % 3), ((k + 1) % 3, (k + 1) % 3), (2, 2), (0, 1)];
        let few: Vec<_> = (0..6).map(subject).collect();
        let many: Vec<_> = (0..60).map(subject).collect();
        let pooled = Confusion::from_pairs(3, many.iter().flatten().copied()).scores().uf1;
        let (uf1_few, _) = bootstrap_over_subjects(&few, 3, 7);
        let (uf1_many, uar_many) = bootstrap_over_subjects(&many, 3, 7);
        assert!(uf1_many.low <= pooled && pooled <= uf1_many.high, "{uf1_many:?} vs {pooled}");
        assert!(uf1_many.high - uf1_many.low < uf1_few.high - uf1_few.low, "{uf1_many:?} {uf1_few:?}");
        assert!(uar_many.low > 0.5 && uar_many.high <= 1.0, "{uar_many:?}");
        assert_eq!(bootstrap_over_subjects(&many, 3, 7), (uf1_many, uar_many), "same seed, same interval");
        // Identical subjects: no spread at all.
        let same: Vec<_> = (0..10).map(|_| subject(0)).collect();
        let (uf1, _) = bootstrap_over_subjects(&same, 3, 1);
        assert_eq!(uf1.low, uf1.high);
    }
}
