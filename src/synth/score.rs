//! How well an analysed session matches a clip's ground truth: spotting by
//! the MEGC rule (IoU ≥ 0.5, one-to-one) and the class of each hit.
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{GroundTruth, SynthError};
use crate::session::Session;
use crate::spotting::eval::{evaluate_grouped, Interval, SpottingScores};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClipScores {
    pub clip: String,
    pub spotting: SpottingScores,
    /// Hits whose model class equals the truth class.
    pub correct_class: usize,
    /// confusion[truth][predicted] over hits.
    pub confusion: Vec<Vec<usize>>,
    /// Detected face id → truth face, by box centre distance.
    pub face_map: Vec<(u32, u32)>,
    /// What became of each true event, in ground-truth order.
    #[serde(default)]
    pub outcomes: Vec<TruthOutcome>,
}

/// One true event: found or missed, and the class it was given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruthOutcome {
    pub face: u32,
    pub apex_s: f64,
    pub class: usize,
    pub amplitude_px: f32,
    /// The model's class when spotted (IoU ≥ 0.5).
    pub predicted_class: Option<usize>,
    pub iou: Option<f64>,
}

impl ClipScores {
    pub fn class_accuracy(&self) -> f64 {
        let hits = self.spotting.true_positives;
        if hits == 0 {
            0.0
        } else {
            self.correct_class as f64 / hits as f64
        }
    }
}

/// Reads `<clip>.truth.json`.
pub fn load_truth(path: &Path) -> Result<GroundTruth, SynthError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| SynthError::TruthRead { path: path.to_path_buf(), source })?;
    serde_json::from_str(&text).map_err(|source| SynthError::TruthParse { path: path.to_path_buf(), source })
}

/// Scores `session` against `truth`. Each detected face is matched to the
/// truth face nearest its median box centre; events of unmatched faces
/// count as false positives.
pub fn score_session(truth: &GroundTruth, session: &Session) -> ClipScores {
    let face_map: Vec<(u32, u32)> = session
        .face_ids()
        .into_iter()
        .filter_map(|id| {
            let centres: Vec<[f32; 2]> = session
                .frames
                .iter()
                .flat_map(|f| f.faces.iter())
                .filter(|f| f.face_id == id)
                .map(|f| [f.bbox.x + f.bbox.width / 2.0, f.bbox.y + f.bbox.height / 2.0])
                .collect();
            let centre = median_point(&centres)?;
            let nearest = truth.faces.iter().min_by(|a, b| {
                distance(centre, box_centre(&a.bbox)).total_cmp(&distance(centre, box_centre(&b.bbox)))
            })?;
            (distance(centre, box_centre(&nearest.bbox)) < nearest.bbox.width).then_some((id, nearest.face))
        })
        .collect();
    let truth_face = |id: u32| face_map.iter().find(|(d, _)| *d == id).map(|(_, t)| *t);
    // Unmatched faces get a key no truth face has.
    let predicted: Vec<(u32, Interval)> = session
        .events
        .iter()
        .map(|e| (truth_face(e.face_id).unwrap_or(u32::MAX), Interval::new(e.onset_frame, e.offset_frame)))
        .collect();
    let expected: Vec<(u32, Interval)> =
        truth.events.iter().map(|e| (e.face, Interval::new(e.onset_frame, e.offset_frame))).collect();
    let grouped = evaluate_grouped(&predicted, &expected);
    let classes = session.class_names.len().max(3);
    let mut confusion = vec![vec![0usize; classes]; classes];
    let mut correct_class = 0;
    let mut outcomes: Vec<TruthOutcome> = truth
        .events
        .iter()
        .map(|e| TruthOutcome {
            face: e.face,
            apex_s: e.apex_s,
            class: e.class,
            amplitude_px: e.amplitude_px,
            predicted_class: None,
            iou: None,
        })
        .collect();
    for (key, scores) in &grouped.groups {
        let pred_of_face: Vec<&crate::session::Event> =
            session.events.iter().filter(|e| truth_face(e.face_id).unwrap_or(u32::MAX) == *key).collect();
        let truth_of_face: Vec<usize> = (0..truth.events.len()).filter(|&i| truth.events[i].face == *key).collect();
        for &(p, t, iou) in &scores.matches {
            let (predicted, actual) = (pred_of_face[p].class, truth.events[truth_of_face[t]].class);
            let outcome = &mut outcomes[truth_of_face[t]];
            outcome.predicted_class = Some(predicted);
            outcome.iou = Some(iou);
            if actual < classes && predicted < classes {
                confusion[actual][predicted] += 1;
            }
            correct_class += usize::from(predicted == actual);
        }
    }
    ClipScores { clip: truth.clip.clone(), spotting: grouped.total, correct_class, confusion, face_map, outcomes }
}

/// Recall and class accuracy by peak amplitude: (band label, true events,
/// spotted, spotted with the right class).
pub fn by_amplitude(clips: &[ClipScores]) -> Vec<(String, usize, usize, usize)> {
    let bands = [(0.0, 1.0), (1.0, 2.0), (2.0, f32::INFINITY)];
    bands
        .iter()
        .map(|&(lo, hi)| {
            let events: Vec<&TruthOutcome> = clips
                .iter()
                .flat_map(|c| c.outcomes.iter())
                .filter(|o| o.amplitude_px >= lo && o.amplitude_px < hi)
                .collect();
            let found = events.iter().filter(|o| o.predicted_class.is_some()).count();
            let right = events.iter().filter(|o| o.predicted_class == Some(o.class)).count();
            let label = if hi.is_finite() { format!("{lo:.1}-{hi:.1} px") } else { format!(">= {lo:.1} px") };
            (label, events.len(), found, right)
        })
        .collect()
}

fn box_centre(b: &crate::face::FaceBox) -> [f32; 2] {
    [b.x + b.width / 2.0, b.y + b.height / 2.0]
}

fn distance(a: [f32; 2], b: [f32; 2]) -> f32 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

fn median_point(points: &[[f32; 2]]) -> Option<[f32; 2]> {
    if points.is_empty() {
        return None;
    }
    let median = |mut v: Vec<f32>| {
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    };
    Some([median(points.iter().map(|p| p[0]).collect()), median(points.iter().map(|p| p[1]).collect())])
}

/// Pools clips: summed counts, recomputed rates.
pub fn pool(clips: &[ClipScores]) -> ClipScores {
    let (tp, fp, fneg) = clips.iter().fold((0, 0, 0), |(tp, fp, fneg), c| {
        (tp + c.spotting.true_positives, fp + c.spotting.false_positives, fneg + c.spotting.false_negatives)
    });
    let rate = |num: usize, den: usize| if den == 0 { 0.0 } else { num as f64 / den as f64 };
    let (precision, recall) = (rate(tp, tp + fp), rate(tp, tp + fneg));
    let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
    let classes = clips.iter().map(|c| c.confusion.len()).max().unwrap_or(3);
    let mut confusion = vec![vec![0usize; classes]; classes];
    for c in clips {
        for (i, row) in c.confusion.iter().enumerate() {
            for (j, n) in row.iter().enumerate() {
                confusion[i][j] += n;
            }
        }
    }
    ClipScores {
        clip: "pooled".into(),
        spotting: SpottingScores {
            true_positives: tp,
            false_positives: fp,
            false_negatives: fneg,
            precision,
            recall,
            f1,
            matches: Vec::new(),
        },
        correct_class: clips.iter().map(|c| c.correct_class).sum(),
        confusion,
        face_map: Vec::new(),
        outcomes: clips.iter().flat_map(|c| c.outcomes.iter().cloned()).collect(),
    }
}
