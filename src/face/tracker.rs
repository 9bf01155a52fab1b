//! Stable face IDs across frames: greedy IoU matching of detections to
//! tracks, a short hold for frames where a face is missed, and a longer
//! memory so a face that leaves and comes back at the same place keeps its
//! ID.
use serde::{Deserialize, Serialize};

use super::{FaceBox, FaceDetection};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackerOptions {
    /// Smallest IoU for a detection to continue an active track.
    pub min_iou: f32,
    /// Seconds a track with no matching detection stays active (reported,
    /// `fresh = false`) before it goes dormant.
    pub hold_s: f64,
    /// Seconds after its last detection a face can come back with its ID;
    /// after that the dormant track is forgotten.
    pub forget_after_s: f64,
    /// EMA weight of a new detection in the smoothed box and landmarks
    /// (1 = no smoothing).
    pub landmark_smoothing: f32,
}

impl Default for TrackerOptions {
    fn default() -> Self {
        Self { min_iou: 0.3, hold_s: 1.0, forget_after_s: 10.0, landmark_smoothing: 0.5 }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackedFace {
    pub id: u32,
    /// The detection, box and landmarks smoothed over the track.
    pub detection: FaceDetection,
    /// True when a detection matched this track in this update.
    pub fresh: bool,
    pub last_detected_s: f64,
}

#[derive(Clone, Debug)]
struct Track {
    id: u32,
    detection: FaceDetection,
    last_detected_s: f64,
    active: bool,
}

/// Assigns IDs (from 0, never reused) to faces over time.
#[derive(Clone, Debug)]
pub struct FaceTracker {
    options: TrackerOptions,
    /// Sorted by id (new tracks are pushed with increasing ids).
    tracks: Vec<Track>,
    next_id: u32,
}

/// Largest centre distance, as a fraction of the mean box side, at which a
/// detection may revive a dormant track whose box it does not overlap
/// enough.
const REVIVE_MAX_CENTRE_DISTANCE: f32 = 0.6;
/// Box side ratio allowed when reviving by centre distance.
const REVIVE_MAX_SIZE_RATIO: f32 = 1.5;

impl FaceTracker {
    pub fn new(options: TrackerOptions) -> Self {
        Self { options, tracks: Vec::new(), next_id: 0 }
    }

    pub fn options(&self) -> &TrackerOptions {
        &self.options
    }

    /// Forgets every track; ids keep counting up.
    pub fn reset(&mut self) {
        self.tracks.clear();
    }

    /// Feeds the detections of the frame at `timestamp_s`; returns the
    /// active tracks sorted by id.
    pub fn update(&mut self, timestamp_s: f64, detections: &[FaceDetection]) -> Vec<TrackedFace> {
        self.expire(timestamp_s);
        let mut matched_track = vec![false; self.tracks.len()];
        let mut matched_detection = vec![false; detections.len()];

        // Active tracks: greedy by IoU, highest first.
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (t, track) in self.tracks.iter().enumerate().filter(|(_, t)| t.active) {
            for (d, det) in detections.iter().enumerate() {
                let overlap = iou(&track.detection.bbox, &det.bbox);
                if overlap >= self.options.min_iou && overlap > 0.0 {
                    pairs.push((overlap, t, d));
                }
            }
        }
        // Highest overlap first: negate it so that smaller sorts first.
        let pairs = pairs.into_iter().map(|(overlap, t, d)| (-overlap, t, d)).collect();
        for (t, d) in assign_greedy(pairs, &mut matched_track, &mut matched_detection) {
            let w = self.options.landmark_smoothing.clamp(0.0, 1.0);
            let track = &mut self.tracks[t];
            track.detection = smooth(&track.detection, &detections[d], w);
            track.last_detected_s = timestamp_s;
        }

        // Dormant tracks: by overlap or by nearby centre at a similar size,
        // closest first. A revived track restarts from the detection.
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (t, track) in self.tracks.iter().enumerate().filter(|(_, t)| !t.active) {
            for (d, det) in detections.iter().enumerate().filter(|(d, _)| !matched_detection[*d]) {
                if let Some(distance) = revive_distance(&track.detection.bbox, &det.bbox, self.options.min_iou) {
                    pairs.push((distance, t, d));
                }
            }
        }
        for (t, d) in assign_greedy(pairs, &mut matched_track, &mut matched_detection) {
            let track = &mut self.tracks[t];
            track.detection = detections[d].clone();
            track.last_detected_s = timestamp_s;
            track.active = true;
        }

        // The rest start new tracks.
        for det in detections.iter().zip(&matched_detection).filter(|(_, &m)| !m).map(|(d, _)| d) {
            self.tracks.push(Track {
                id: self.next_id,
                detection: det.clone(),
                last_detected_s: timestamp_s,
                active: true,
            });
            matched_track.push(true);
            self.next_id = self.next_id.wrapping_add(1);
        }
        self.active(&matched_track)
    }

    /// For frames where the detector did not run: the active tracks, none
    /// fresh, after expiring those unmatched for longer than `hold_s`.
    pub fn hold(&mut self, timestamp_s: f64) -> Vec<TrackedFace> {
        self.expire(timestamp_s);
        let none = vec![false; self.tracks.len()];
        self.active(&none)
    }

    fn expire(&mut self, now: f64) {
        let (hold, forget) = (self.options.hold_s, self.options.forget_after_s);
        self.tracks.retain(|t| now - t.last_detected_s <= forget);
        for t in &mut self.tracks {
            if now - t.last_detected_s > hold {
                t.active = false;
            }
        }
    }

    fn active(&self, fresh: &[bool]) -> Vec<TrackedFace> {
        self.tracks
            .iter()
            .zip(fresh)
            .filter(|(t, _)| t.active)
            .map(|(t, &fresh)| TrackedFace {
                id: t.id,
                detection: t.detection.clone(),
                fresh,
                last_detected_s: t.last_detected_s,
            })
            .collect()
    }
}

/// One-to-one assignment of `(cost, track, detection)` pairs, lowest cost
/// first (ties by index, so the result is deterministic); marks what it
/// assigns in `matched_track` and `matched_detection`.
fn assign_greedy(
    mut pairs: Vec<(f32, usize, usize)>,
    matched_track: &mut [bool],
    matched_detection: &mut [bool],
) -> Vec<(usize, usize)> {
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut assigned = Vec::new();
    for (_, t, d) in pairs {
        if matched_track[t] || matched_detection[d] {
            continue;
        }
        matched_track[t] = true;
        matched_detection[d] = true;
        assigned.push((t, d));
    }
    assigned
}

pub fn iou(a: &FaceBox, b: &FaceBox) -> f32 {
    let iw = ((a.x + a.width).min(b.x + b.width) - a.x.max(b.x)).max(0.0);
    let ih = ((a.y + a.height).min(b.y + b.height) - a.y.max(b.y)).max(0.0);
    let inter = iw * ih;
    let union = a.width * a.height + b.width * b.height - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// How well `det` continues dormant `old`: `Some(centre distance / mean
/// side)` when they overlap by `min_iou`, or their centres are close and
/// sizes similar; smaller is better.
fn revive_distance(old: &FaceBox, det: &FaceBox, min_iou: f32) -> Option<f32> {
    let side = |b: &FaceBox| (b.width.max(0.0) * b.height.max(0.0)).sqrt();
    let (so, sd) = (side(old), side(det));
    if so <= 0.0 || sd <= 0.0 {
        return None;
    }
    let centre = |b: &FaceBox| (b.x + b.width / 2.0, b.y + b.height / 2.0);
    let ((ox, oy), (dx, dy)) = (centre(old), centre(det));
    let distance = (ox - dx).hypot(oy - dy) / ((so + sd) / 2.0);
    let similar_size = so.max(sd) / so.min(sd) <= REVIVE_MAX_SIZE_RATIO;
    let close = distance <= REVIVE_MAX_CENTRE_DISTANCE && similar_size;
    (iou(old, det) >= min_iou || close).then_some(distance)
}

fn smooth(old: &FaceDetection, new: &FaceDetection, w: f32) -> FaceDetection {
    let mix = |o: f32, n: f32| o + w * (n - o);
    let mut landmarks = new.landmarks;
    for (l, o) in landmarks.iter_mut().zip(&old.landmarks) {
        *l = [mix(o[0], l[0]), mix(o[1], l[1])];
    }
    FaceDetection {
        bbox: FaceBox {
            x: mix(old.bbox.x, new.bbox.x),
            y: mix(old.bbox.y, new.bbox.y),
            width: mix(old.bbox.width, new.bbox.width),
            height: mix(old.bbox.height, new.bbox.height),
        },
        confidence: new.confidence,
        landmarks,
        landmarks_estimated: new.landmarks_estimated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, y: f32, side: f32) -> FaceDetection {
        let p = |fx: f32, fy: f32| [x + fx * side, y + fy * side];
        FaceDetection {
            bbox: FaceBox { x, y, width: side, height: side },
            confidence: 0.99,
            landmarks: [p(0.3, 0.4), p(0.7, 0.4), p(0.5, 0.6), p(0.33, 0.8), p(0.67, 0.8)],
            landmarks_estimated: false,
        }
    }

    fn ids(faces: &[TrackedFace]) -> Vec<u32> {
        faces.iter().map(|f| f.id).collect()
    }

    #[test]
    fn ids_are_stable_under_small_motion_and_distinct_for_two_faces() {
        let mut tracker = FaceTracker::new(TrackerOptions::default());
        let mut t = 0.0;
        let first = tracker.update(t, &[face(100.0, 100.0, 80.0), face(400.0, 120.0, 90.0)]);
        assert_eq!(ids(&first), vec![0, 1]);
        for i in 1..60 {
            t += 1.0 / 30.0;
            let dx = (i as f32 * 0.7).sin() * 6.0;
            // Detections in swapped order: matching is by place, not index.
            let out =
                tracker.update(t, &[face(400.0 - dx, 120.0 + dx, 90.0), face(100.0 + dx, 100.0, 80.0 + dx / 3.0)]);
            assert_eq!(ids(&out), vec![0, 1], "frame {i}");
            assert!(out.iter().all(|f| f.fresh));
            assert!(out[0].detection.bbox.x < 200.0 && out[1].detection.bbox.x > 300.0, "{out:?}");
        }
    }

    #[test]
    fn smoothing_mixes_old_and_new() {
        let mut tracker = FaceTracker::new(TrackerOptions { landmark_smoothing: 0.25, ..Default::default() });
        tracker.update(0.0, &[face(100.0, 100.0, 80.0)]);
        let out = tracker.update(0.1, &[face(108.0, 100.0, 80.0)]);
        assert!((out[0].detection.bbox.x - 102.0).abs() < 1e-4, "{out:?}");
        assert!((out[0].detection.landmarks[0][0] - (102.0 + 0.3 * 80.0)).abs() < 1e-4, "{out:?}");
    }

    #[test]
    fn hold_keeps_a_missed_face_briefly_then_it_goes_dormant() {
        let mut tracker = FaceTracker::new(TrackerOptions::default());
        tracker.update(0.0, &[face(100.0, 100.0, 80.0)]);
        let held = tracker.hold(0.5);
        assert_eq!(ids(&held), vec![0]);
        assert!(!held[0].fresh && held[0].last_detected_s == 0.0);
        assert_eq!(ids(&tracker.update(0.9, &[])), vec![0]);
        assert!(tracker.hold(1.2).is_empty());
        assert!(tracker.update(1.3, &[]).is_empty());
    }

    #[test]
    fn a_face_back_after_three_seconds_keeps_its_id() {
        let mut tracker = FaceTracker::new(TrackerOptions::default());
        tracker.update(0.0, &[face(100.0, 100.0, 80.0), face(400.0, 100.0, 80.0)]);
        // Face 0 leaves for 3 s; face 1 stays.
        let mut t = 0.0;
        while t < 3.0 {
            t += 0.2;
            let out = tracker.update(t, &[face(400.0, 100.0, 80.0)]);
            // Held (not fresh) for hold_s, then dormant.
            let expected = if t < 0.9 {
                vec![0, 1]
            } else if t > 1.1 {
                vec![1]
            } else {
                ids(&out)
            };
            assert_eq!(ids(&out), expected, "t = {t}");
            assert!(out.iter().all(|f| f.fresh == (f.id == 1)));
        }
        // Back a little to the side: IoU with the old box 0.28, below
        // min_iou, centres 0.56 of a face apart.
        let back = face(145.0, 100.0, 80.0);
        assert!(iou(&back.bbox, &face(100.0, 100.0, 80.0).bbox) < 0.3);
        let out = tracker.update(3.2, &[face(400.0, 100.0, 80.0), back]);
        assert_eq!(ids(&out), vec![0, 1], "{out:?}");
        assert!((out[0].detection.bbox.x - 145.0).abs() < 1e-4, "a revived track starts from the detection");
    }

    #[test]
    fn a_face_gone_longer_than_forget_after_gets_a_new_id() {
        let mut tracker = FaceTracker::new(TrackerOptions::default());
        tracker.update(0.0, &[face(100.0, 100.0, 80.0)]);
        assert!(tracker.hold(5.0).is_empty());
        let out = tracker.update(10.5, &[face(100.0, 100.0, 80.0)]);
        assert_eq!(ids(&out), vec![1]);
    }

    #[test]
    fn a_new_face_elsewhere_gets_a_new_id_even_with_a_dormant_track() {
        let mut tracker = FaceTracker::new(TrackerOptions::default());
        tracker.update(0.0, &[face(100.0, 100.0, 80.0)]);
        assert_eq!(ids(&tracker.update(0.5, &[face(102.0, 100.0, 80.0), face(400.0, 200.0, 80.0)])), vec![0, 1]);
        // Face 0 goes dormant; a face far from it is new, and ids never repeat.
        tracker.update(2.0, &[face(400.0, 200.0, 80.0)]);
        let out = tracker.update(2.1, &[face(400.0, 200.0, 80.0), face(250.0, 300.0, 80.0)]);
        assert_eq!(ids(&out), vec![1, 2]);
        // A much smaller face at the old place is not the old face either.
        let out = tracker.update(2.2, &[face(400.0, 200.0, 80.0), face(250.0, 300.0, 80.0), face(120.0, 120.0, 30.0)]);
        assert_eq!(ids(&out), vec![1, 2, 3]);
        tracker.reset();
        assert_eq!(ids(&tracker.update(3.0, &[face(100.0, 100.0, 80.0)])), vec![4]);
    }

    #[test]
    fn iou_of_boxes() {
        let a = FaceBox { x: 0.0, y: 0.0, width: 10.0, height: 10.0 };
        let b = FaceBox { x: 5.0, y: 0.0, width: 10.0, height: 10.0 };
        assert!((iou(&a, &b) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(iou(&a, &FaceBox::default()), 0.0);
    }
}
