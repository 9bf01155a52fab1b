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
