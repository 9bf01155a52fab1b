//! Spotting quality by the MEGC rule: a predicted interval is a true
//! positive when its IoU with a ground-truth interval is at least 0.5, each
//! truth matched at most once and each prediction at most once.
//!
//! Matching is greedy by IoU, highest first (ties: lower prediction index,
//! then lower truth index), which is what MEGC's scripts do in practice and
//! needs no assignment solver. Precision, recall and F1 are defined as 0
//! when their denominators are 0 (no predictions, no truths, or both
//! precision and recall 0), so an empty clip scores 0, not NaN.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The IoU a prediction needs with a truth interval to count as a hit.
pub const MEGC_IOU: f64 = 0.5;

/// Inclusive frame interval: `onset..=offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Interval {
    pub onset: u64,
    pub offset: u64,
}

impl Interval {
    pub fn new(onset: u64, offset: u64) -> Self {
        Self { onset: onset.min(offset), offset: onset.max(offset) }
    }

    /// Frames covered (inclusive, so never 0).
    pub fn frames(&self) -> u64 {
        self.offset - self.onset + 1
    }
}

/// Intersection over union in frames, both ends inclusive.
pub fn iou(a: Interval, b: Interval) -> f64 {
    let start = a.onset.max(b.onset);
    let end = a.offset.min(b.offset);
    if start > end {
        return 0.0;
    }
    let inter = end - start + 1;
    let union = a.frames() + b.frames() - inter;
    inter as f64 / union as f64
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SpottingScores {
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// (prediction index, truth index, IoU) for every hit, in matching order.
    pub matches: Vec<(usize, usize, f64)>,
}

impl SpottingScores {
    fn from_counts(tp: usize, fp: usize, fn_: usize, matches: Vec<(usize, usize, f64)>) -> Self {
        let ratio = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fn_);
        let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
        Self { true_positives: tp, false_positives: fp, false_negatives: fn_, precision, recall, f1, matches }
    }
}

/// Scores `predicted` against `truth` (one clip or one face).
pub fn evaluate(predicted: &[Interval], truth: &[Interval]) -> SpottingScores {
    let mut candidates: Vec<(usize, usize, f64)> = Vec::new();
    for (p, &pi) in predicted.iter().enumerate() {
        for (t, &ti) in truth.iter().enumerate() {
            let v = iou(pi, ti);
            if v >= MEGC_IOU {
                candidates.push((p, t, v));
            }
        }
    }
    candidates.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let mut used_p = vec![false; predicted.len()];
    let mut used_t = vec![false; truth.len()];
    let mut matches = Vec::new();
    for (p, t, v) in candidates {
        if !used_p[p] && !used_t[t] {
            used_p[p] = true;
            used_t[t] = true;
            matches.push((p, t, v));
        }
    }
    let tp = matches.len();
    SpottingScores::from_counts(tp, predicted.len() - tp, truth.len() - tp, matches)
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupedScores<K: Ord> {
    /// Scores per key (face, clip, …); indices in `matches` are within that key's lists.
    pub groups: BTreeMap<K, SpottingScores>,
    /// Counts summed over all keys, with precision/recall/F1 from the sums
    /// (micro-average, as MEGC pools over videos); `matches` left empty.
    pub total: SpottingScores,
}

/// Scores each key's predictions against that key's truths (a key with only
/// predictions or only truths still counts), then pools the counts.
pub fn evaluate_grouped<K: Ord + Clone>(predicted: &[(K, Interval)], truth: &[(K, Interval)]) -> GroupedScores<K> {
    let mut by_key: BTreeMap<K, (Vec<Interval>, Vec<Interval>)> = BTreeMap::new();
    for (k, i) in predicted {
        by_key.entry(k.clone()).or_default().0.push(*i);
    }
    for (k, i) in truth {
        by_key.entry(k.clone()).or_default().1.push(*i);
    }
    let groups: BTreeMap<K, SpottingScores> = by_key.into_iter().map(|(k, (p, t))| (k, evaluate(&p, &t))).collect();
    let (tp, fp, fn_) = groups
        .values()
        .fold((0, 0, 0), |(a, b, c), s| (a + s.true_positives, b + s.false_positives, c + s.false_negatives));
    GroupedScores { total: SpottingScores::from_counts(tp, fp, fn_, Vec::new()), groups }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(a: u64, b: u64) -> Interval {
        Interval::new(a, b)
    }

    #[test]
    fn iou_counts_inclusive_frames() {
        assert_eq!(iou(iv(0, 9), iv(0, 9)), 1.0);
        // 10..=19 vs 15..=24: 5 shared of 15 frames.
        assert!((iou(iv(10, 19), iv(15, 24)) - 5.0 / 15.0).abs() < 1e-12);
        assert_eq!(iou(iv(0, 4), iv(5, 9)), 0.0);
        // Touching at one frame: 1 of 9.
        assert!((iou(iv(0, 4), iv(4, 8)) - 1.0 / 9.0).abs() < 1e-12);
        assert_eq!(iou(iv(3, 3), iv(3, 3)), 1.0);
        assert_eq!(iou(iv(5, 2), iv(2, 5)), 1.0, "Interval::new orders its ends");
    }

    #[test]
    fn iou_of_exactly_half_is_a_hit_and_just_below_is_not() {
        // 0..=9 vs 0..=19: 10 of 20 frames = 0.5 exactly.
        assert_eq!(iou(iv(0, 9), iv(0, 19)), 0.5);
        let s = evaluate(&[iv(0, 9)], &[iv(0, 19)]);
        assert_eq!((s.true_positives, s.false_positives, s.false_negatives), (1, 0, 0));
        assert_eq!((s.precision, s.recall, s.f1), (1.0, 1.0, 1.0));
        // 0..=8 vs 0..=18: 9 of 19 < 0.5.
        let s = evaluate(&[iv(0, 8)], &[iv(0, 18)]);
        assert_eq!((s.true_positives, s.false_positives, s.false_negatives), (0, 1, 1));
        assert_eq!((s.precision, s.recall, s.f1), (0.0, 0.0, 0.0));
    }

    #[test]
    fn a_prediction_over_two_truths_matches_the_better_one_only() {
        // Truths 0..=9 and 12..=21; prediction 2..=13 overlaps both:
        // with A: 8 of 14 = 0.571; with B: 2 of 20 → no.
        // Second prediction 12..=20 takes B: 9 of 10 = 0.9.
        let truth = [iv(0, 9), iv(12, 21)];
        let s = evaluate(&[iv(2, 13), iv(12, 20)], &truth);
        assert_eq!(s.matches.len(), 2);
        assert_eq!((s.matches[0].0, s.matches[0].1), (1, 1));
        assert!((s.matches[0].2 - 0.9).abs() < 1e-12);
        assert_eq!((s.matches[1].0, s.matches[1].1), (0, 0));
        assert!((s.matches[1].2 - 8.0 / 14.0).abs() < 1e-12);

        // One long prediction 0..=21 spanning both truths (10 of 22, 10 of 22):
        // neither reaches 0.5 → 1 FP, 2 FN.
        let s = evaluate(&[iv(0, 21)], &truth);
        assert_eq!((s.true_positives, s.false_positives, s.false_negatives), (0, 1, 2));

        // Prediction 0..=11 hits A (10/12 = 0.833) and B (0); a second,
        // 0..=9, hits A better (1.0) and takes it; the first becomes an FP.
        let s = evaluate(&[iv(0, 11), iv(0, 9)], &truth);
        assert_eq!(s.matches, vec![(1, 0, 1.0)]);
        assert_eq!((s.true_positives, s.false_positives, s.false_negatives), (1, 1, 1));
        assert_eq!(s.precision, 0.5);
        assert_eq!(s.recall, 0.5);
        assert_eq!(s.f1, 0.5);
    }

    #[test]
    fn scores_by_hand() {
        // 3 truths, 4 predictions: 2 hits, 2 FP, 1 FN.
        let truth = [iv(10, 19), iv(50, 59), iv(100, 109)];
        let pred = [iv(11, 20), iv(52, 61), iv(200, 210), iv(30, 35)];
        let s = evaluate(&pred, &truth);
        assert_eq!((s.true_positives, s.false_positives, s.false_negatives), (2, 2, 1));
        assert_eq!(s.precision, 0.5);
        assert!((s.recall - 2.0 / 3.0).abs() < 1e-12);
        // F1 = 2·0.5·0.667 / 1.167 = 4/7.
        assert!((s.f1 - 4.0 / 7.0).abs() < 1e-12);
        // 11..=20 vs 10..=19: 9 of 11; 52..=61 vs 50..=59: 8 of 12.
        assert_eq!(s.matches.iter().map(|m| (m.0, m.1)).collect::<Vec<_>>(), [(0, 0), (1, 1)]);
    }

    #[test]
    fn empty_sides_score_zero_not_nan() {
        let none = evaluate(&[], &[]);
        assert_eq!((none.precision, none.recall, none.f1), (0.0, 0.0, 0.0));
        let only_truth = evaluate(&[], &[iv(0, 5)]);
        assert_eq!((only_truth.false_negatives, only_truth.precision, only_truth.recall), (1, 0.0, 0.0));
        let only_pred = evaluate(&[iv(0, 5)], &[]);
        assert_eq!((only_pred.false_positives, only_pred.f1), (1, 0.0));
    }

    #[test]
    fn grouped_scores_keep_faces_apart_and_pool_counts() {
        // Face 1's prediction would hit face 0's truth if keys were ignored.
        let truth = vec![(0u32, iv(10, 19)), (0, iv(40, 49)), (1, iv(70, 79))];
        let pred = vec![(0u32, iv(10, 19)), (1, iv(40, 49)), (1, iv(71, 80)), (2, iv(0, 3))];
        let g = evaluate_grouped(&pred, &truth);
        assert_eq!(g.groups.len(), 3);
        let f0 = &g.groups[&0];
        assert_eq!((f0.true_positives, f0.false_positives, f0.false_negatives), (1, 0, 1));
        let f1 = &g.groups[&1];
        assert_eq!((f1.true_positives, f1.false_positives, f1.false_negatives), (1, 1, 0));
        let f2 = &g.groups[&2];
        assert_eq!((f2.true_positives, f2.false_positives, f2.false_negatives), (0, 1, 0));
        // Pooled: TP 2, FP 2, FN 1 → P 0.5, R 2/3, F1 4/7.
        let t = &g.total;
        assert_eq!((t.true_positives, t.false_positives, t.false_negatives), (2, 2, 1));
        assert!((t.f1 - 4.0 / 7.0).abs() < 1e-12);
        assert!(t.matches.is_empty());
    }
}
