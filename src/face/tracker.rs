//! Stable face IDs across frames. Detections continue active tracks by
//! overlap (or, for a face that moved fast between detector runs, by a
//! nearby centre and the same appearance); a track the detector stops
//! confirming ends after `hold_s`; a held box that the detector now sees as
//! part of another track's face ends at once (one face, one box); and an
//! ended track's ID goes back only to a face that looks like it
//! (`identity::FaceDescriptor`), never to a face just because it shows up at
//! the same place. A shot cut ends every track (`end_all`).
use serde::{Deserialize, Serialize};

use super::identity::{FaceDescriptor, IdentityThresholds};
use super::{FaceBox, FaceDetection};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackerOptions {
    /// Smallest IoU for a detection to continue an active track.
    pub min_iou: f32,
    /// Seconds a track with no matching detection stays active (reported,
    /// `fresh = false`) before it ends.
    pub hold_s: f64,
    /// Seconds after its last detection an ended track's ID can go back to
    /// a face that looks like it; after that the track is forgotten.
    pub forget_after_s: f64,
    /// EMA weight of a new detection in the smoothed box and landmarks
    /// (1 = no smoothing).
    pub landmark_smoothing: f32,
    /// When two faces are the same person.
    pub identity: IdentityThresholds,
}

impl Default for TrackerOptions {
    fn default() -> Self {
        Self {
            min_iou: 0.3,
            hold_s: 1.0,
            forget_after_s: 10.0,
            landmark_smoothing: 0.5,
            identity: IdentityThresholds::default(),
        }
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
    /// Running appearance of the face (`None` until one could be taken).
    appearance: Option<FaceDescriptor>,
    /// Centre of the last matched detection, as detected (not smoothed).
    detected_centre: [f32; 2],
    /// Box centre velocity, px/s, from consecutive detections (0 until two).
    velocity: [f32; 2],
}

impl Track {
    fn new(id: u32, detection: &FaceDetection, timestamp_s: f64, appearance: Option<FaceDescriptor>) -> Self {
        Self {
            id,
            detection: detection.clone(),
            last_detected_s: timestamp_s,
            active: true,
            appearance,
            detected_centre: centre(&detection.bbox),
            velocity: [0.0, 0.0],
        }
    }

    /// Where the box should be at `now` if the face kept its velocity (at
    /// most one box width away from where it was last seen): what new
    /// detections are matched against, so a face moving between detector
    /// runs keeps its track.
    fn predicted_box(&self, now: f64) -> FaceBox {
        let dt = (now - self.last_detected_s).max(0.0) as f32;
        let limit = self.detection.bbox.width.max(0.0);
        let shift = |v: f32| (v * dt).clamp(-limit, limit);
        FaceBox {
            x: self.detection.bbox.x + shift(self.velocity[0]),
            y: self.detection.bbox.y + shift(self.velocity[1]),
            ..self.detection.bbox
        }
    }

    /// Continues the track with a detection at `now`.
    fn continue_with(&mut self, detection: &FaceDetection, now: f64, smoothing: f32) {
        let c = centre(&detection.bbox);
        let dt = (now - self.last_detected_s) as f32;
        if dt > 1e-3 {
            let measured = [(c[0] - self.detected_centre[0]) / dt, (c[1] - self.detected_centre[1]) / dt];
            self.velocity = [0.5 * (self.velocity[0] + measured[0]), 0.5 * (self.velocity[1] + measured[1])];
        }
        self.detected_centre = c;
        self.detection = smooth(&self.detection, detection, smoothing);
        self.last_detected_s = now;
    }

    /// Starts the track again from a detection (its face came back).
    fn restart_with(&mut self, detection: &FaceDetection, now: f64) {
        self.detection = detection.clone();
        self.detected_centre = centre(&detection.bbox);
        self.velocity = [0.0, 0.0];
        self.last_detected_s = now;
        self.active = true;
    }
}

fn centre(b: &FaceBox) -> [f32; 2] {
    [b.x + b.width / 2.0, b.y + b.height / 2.0]
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
/// detection may revive an ended track whose box it does not overlap
/// enough (only when no texture can be compared: geometry alone is too weak
/// to recognise a face anywhere in the frame).
const REVIVE_MAX_CENTRE_DISTANCE: f32 = 0.6;
/// Box side ratio allowed when matching by centre distance.
const REVIVE_MAX_SIZE_RATIO: f32 = 1.5;
/// Largest centre distance, in mean box sides, at which a detection that
/// does not overlap an active track enough may still continue it (a face
/// that moved fast between two detector runs), when it looks the same.
const FAST_MOTION_MAX_CENTRE_DISTANCE: f32 = 1.0;
/// Two detections overlapping this much are one face seen twice.
const DUPLICATE_DETECTION_IOU: f32 = 0.5;
/// A held box covering this much of a fresh box (or of itself), by the
/// smaller box's area, is the same face: the held track ends.
const SAME_FACE_COVER: f32 = 0.6;
/// Weight of a new well-visible view in a track's running appearance.
const APPEARANCE_UPDATE: f32 = 0.2;
/// A view must show this fraction of the face to update a track's
/// appearance, or to start a new track (a face mostly outside the frame
/// cannot be recognised, so it gets no ID until more of it is in).
const MIN_VISIBLE_TO_START: f32 = 0.5;
const MIN_VISIBLE_TO_LEARN: f32 = 0.9;

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

    /// Ends every active track (a shot cut: nothing on screen continues);
    /// their IDs go back only to faces that look like them.
    pub fn end_all(&mut self) {
        for t in &mut self.tracks {
            t.active = false;
        }
    }

    /// Feeds the detections of the frame at `timestamp_s`, with the
    /// appearance taken from their landmarks alone; returns the active
    /// tracks sorted by id.
    pub fn update(&mut self, timestamp_s: f64, detections: &[FaceDetection]) -> Vec<TrackedFace> {
        let appearances: Vec<Option<FaceDescriptor>> =
            detections.iter().map(|d| FaceDescriptor::from_landmarks(&d.landmarks)).collect();
        self.update_with_appearance(timestamp_s, detections, &appearances)
    }

    /// Feeds the detections of the frame at `timestamp_s` with each one's
    /// appearance (`appearances[i]` for `detections[i]`; `None` where none
    /// could be taken); returns the active tracks sorted by id.
    pub fn update_with_appearance(
        &mut self,
        timestamp_s: f64,
        detections: &[FaceDetection],
        appearances: &[Option<FaceDescriptor>],
    ) -> Vec<TrackedFace> {
        self.expire(timestamp_s);
        let appearance = |d: usize| appearances.get(d).and_then(Option::as_ref);
        let mut matched_track = vec![false; self.tracks.len()];
        let mut matched_detection = duplicate_detections(detections);

        // Active tracks: greedy by IoU, highest first.
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (t, track) in self.tracks.iter().enumerate().filter(|(_, t)| t.active) {
            for (d, det) in detections.iter().enumerate().filter(|(d, _)| !matched_detection[*d]) {
                let overlap = iou(&track.predicted_box(timestamp_s), &det.bbox);
                if overlap >= self.options.min_iou && overlap > 0.0 {
                    pairs.push((-overlap, t, d));
                }
            }
        }
        let mut continued = assign_greedy(pairs, &mut matched_track, &mut matched_detection);
        // Active tracks left: a nearby face of the same size that looks the
        // same (it moved fast between detector runs), closest first.
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (t, track) in self.tracks.iter().enumerate().filter(|(t, tr)| tr.active && !matched_track[*t]) {
            for (d, det) in detections.iter().enumerate().filter(|(d, _)| !matched_detection[*d]) {
                let Some(distance) = centre_distance(&track.predicted_box(timestamp_s), &det.bbox) else { continue };
                let looks_same = self.looks_same(track, appearance(d), None);
                if distance <= FAST_MOTION_MAX_CENTRE_DISTANCE && looks_same {
                    pairs.push((distance, t, d));
                }
            }
        }
        continued.extend(assign_greedy(pairs, &mut matched_track, &mut matched_detection));
        let smoothing = self.options.landmark_smoothing.clamp(0.0, 1.0);
        for (t, d) in continued {
            let track = &mut self.tracks[t];
            track.continue_with(&detections[d], timestamp_s, smoothing);
            learn_appearance(track, appearance(d));
        }

        // Ended tracks: only a face that looks the same, most alike first.
        // A revived track restarts from the detection.
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (t, track) in self.tracks.iter().enumerate().filter(|(_, t)| !t.active) {
            for (d, det) in detections.iter().enumerate().filter(|(d, _)| !matched_detection[*d]) {
                if let Some(cost) = self.revive_cost(track, det, appearance(d)) {
                    pairs.push((cost, t, d));
                }
            }
        }
        for (t, d) in assign_greedy(pairs, &mut matched_track, &mut matched_detection) {
            let track = &mut self.tracks[t];
            track.restart_with(&detections[d], timestamp_s);
            learn_appearance(track, appearance(d));
        }

        // The rest start new tracks, unless too little of the face is in
        // the frame to know who it is.
        for (d, det) in detections.iter().enumerate().filter(|(d, _)| !matched_detection[*d]) {
            let a = appearance(d);
            if a.is_some_and(|a| a.has_texture() && a.visible_fraction() < MIN_VISIBLE_TO_START) {
                continue;
            }
            self.tracks.push(Track::new(self.next_id, det, timestamp_s, a.cloned()));
            matched_track.push(true);
            self.next_id = self.next_id.wrapping_add(1);
        }
        self.end_covered_held_tracks(timestamp_s, &matched_track);
        self.active(&matched_track)
    }

    /// For frames where the detector did not run: the active tracks, none
    /// fresh, after ending those unconfirmed for longer than `hold_s`.
    pub fn hold(&mut self, timestamp_s: f64) -> Vec<TrackedFace> {
        self.expire(timestamp_s);
        let none = vec![false; self.tracks.len()];
        self.active(&none)
    }

    /// Whether a track and a new view are the same face by appearance:
    /// with textures on both sides the textures must be comparable and
    /// close; without, the landmark geometry decides, and then only within
    /// `place_gate` when one is given (geometry alone cannot recognise a
    /// face anywhere in the frame).
    fn looks_same(&self, track: &Track, view: Option<&FaceDescriptor>, place_gate: Option<bool>) -> bool {
        let (Some(known), Some(view)) = (track.appearance.as_ref(), view) else {
            // Nothing to compare: only a face at the place will do.
            return place_gate.unwrap_or(true);
        };
        let distance = known.distance(view);
        if known.has_texture() && view.has_texture() {
            distance.texture.is_some() && distance.same_person(&self.options.identity)
        } else {
            distance.same_person(&self.options.identity) && place_gate.unwrap_or(true)
        }
    }

    /// How well `det` (with appearance `view`) revives ended `track`
    /// (smaller is better), or `None` when it is not the same face.
    fn revive_cost(&self, track: &Track, det: &FaceDetection, view: Option<&FaceDescriptor>) -> Option<f32> {
        let near = revive_distance(&track.detection.bbox, &det.bbox, self.options.min_iou);
        if !self.looks_same(track, view, Some(near.is_some())) {
            return None;
        }
        let by_texture = match (track.appearance.as_ref(), view) {
            (Some(known), Some(view)) => known.distance(view).texture,
            _ => None,
        };
        by_texture.or(near)
    }

    /// A held (unconfirmed) box that mostly covers, or is mostly covered by,
    /// a box the detector confirmed in this update is that face again: the
    /// held track ends, so one face never has two boxes.
    fn end_covered_held_tracks(&mut self, now: f64, fresh: &[bool]) {
        let confirmed: Vec<FaceBox> =
            self.tracks.iter().zip(fresh).filter(|(t, &f)| t.active && f).map(|(t, _)| t.detection.bbox).collect();
        for (track, _) in self.tracks.iter_mut().zip(fresh).filter(|(t, &f)| t.active && !f) {
            let held = track.predicted_box(now);
            if confirmed.iter().any(|b| cover(&held, b) >= SAME_FACE_COVER) {
                track.active = false;
            }
        }
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

/// Takes a new view into a track's running appearance when it shows the
/// face well (or the track has none yet).
fn learn_appearance(track: &mut Track, view: Option<&FaceDescriptor>) {
    let Some(view) = view else { return };
    let partial = view.has_texture() && view.visible_fraction() < MIN_VISIBLE_TO_LEARN;
    match &mut track.appearance {
        None => track.appearance = Some(view.clone()),
        Some(known) if !partial => known.blend(view, APPEARANCE_UPDATE),
        Some(_) => {}
    }
}

/// Marks detections that repeat a more confident one (one face found twice)
/// as already matched, so they neither continue nor start a track.
fn duplicate_detections(detections: &[FaceDetection]) -> Vec<bool> {
    let mut order: Vec<usize> = (0..detections.len()).collect();
    order.sort_by(|&a, &b| detections[b].confidence.total_cmp(&detections[a].confidence).then(a.cmp(&b)));
    let mut duplicate = vec![false; detections.len()];
    for (k, &i) in order.iter().enumerate() {
        if duplicate[i] {
            continue;
        }
        for &j in &order[k + 1..] {
            if iou(&detections[i].bbox, &detections[j].bbox) >= DUPLICATE_DETECTION_IOU {
                duplicate[j] = true;
            }
        }
    }
    duplicate
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

/// Intersection over the smaller box's area.
fn cover(a: &FaceBox, b: &FaceBox) -> f32 {
    let iw = ((a.x + a.width).min(b.x + b.width) - a.x.max(b.x)).max(0.0);
    let ih = ((a.y + a.height).min(b.y + b.height) - a.y.max(b.y)).max(0.0);
    let smaller = (a.width * a.height).min(b.width * b.height);
    if smaller > 0.0 {
        iw * ih / smaller
    } else {
        0.0
    }
}

/// Centre distance in mean box sides and the ratio of the box sides
/// (≥ 1); `None` for an empty box.
fn centre_gap(a: &FaceBox, b: &FaceBox) -> Option<(f32, f32)> {
    let side = |b: &FaceBox| (b.width.max(0.0) * b.height.max(0.0)).sqrt();
    let (sa, sb) = (side(a), side(b));
    if sa <= 0.0 || sb <= 0.0 {
        return None;
    }
    let ([ax, ay], [bx, by]) = (centre(a), centre(b));
    Some(((ax - bx).hypot(ay - by) / ((sa + sb) / 2.0), sa.max(sb) / sa.min(sb)))
}

/// Centre distance in mean box sides, when the boxes are of a similar size.
fn centre_distance(a: &FaceBox, b: &FaceBox) -> Option<f32> {
    centre_gap(a, b).filter(|&(_, ratio)| ratio <= REVIVE_MAX_SIZE_RATIO).map(|(distance, _)| distance)
}

/// How well `det` continues ended `old` by place: `Some(centre distance /
/// mean side)` when they overlap by `min_iou`, or their centres are close
/// and sizes similar; smaller is better.
fn revive_distance(old: &FaceBox, det: &FaceBox, min_iou: f32) -> Option<f32> {
    let (distance, ratio) = centre_gap(old, det)?;
    let close = distance <= REVIVE_MAX_CENTRE_DISTANCE && ratio <= REVIVE_MAX_SIZE_RATIO;
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
        landmarks68: match (&old.landmarks68, &new.landmarks68) {
            (Some(o), Some(n)) => Some(o.iter().zip(n).map(|(o, n)| [mix(o[0], n[0]), mix(o[1], n[1])]).collect()),
            // The points belong to this detection: none when the mesh did
            // not see a face in it.
            (_, new) => new.clone(),
        },
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
            landmarks68: None,
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

    /// A grey frame of random texture (`seed`) and a face at (x, y) in it
    /// with that texture's appearance.
    fn textured(seed: u64, x: f32, y: f32, side: f32) -> (FaceDetection, Option<FaceDescriptor>) {
        use opencv::core::{Mat, Scalar, CV_8UC1};
        use opencv::prelude::*;
        let mut grey = Mat::new_rows_cols_with_default(480, 640, CV_8UC1, Scalar::all(0.0)).expect("frame");
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        for row in 0..480 / 8 {
            for col in 0..640 / 8 {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let level = Scalar::all(((state >> 33) % 256) as f64);
                let rect = opencv::core::Rect::new(col * 8, row * 8, 8, 8);
                Mat::roi_mut(&mut grey, rect).expect("cell").set_to_def(&level).expect("fill");
            }
        }
        let det = face(x, y, side);
        let appearance = FaceDescriptor::from_face(&grey, &det.landmarks).expect("descriptor");
        (det, appearance)
    }

    #[test]
    fn an_ended_track_comes_back_only_to_a_face_that_looks_like_it() {
        let mut tracker = FaceTracker::new(TrackerOptions::default());
        let (a, a_look) = textured(1, 100.0, 100.0, 80.0);
        assert_eq!(ids(&tracker.update_with_appearance(0.0, &[a], std::slice::from_ref(&a_look))), vec![0]);
        // Gone for 2 s: ended.
        assert!(tracker.hold(2.0).is_empty());
        // Something else at the very same place: not face 0.
        let (other, other_look) = textured(2, 100.0, 100.0, 80.0);
        assert_eq!(ids(&tracker.update_with_appearance(2.1, &[other], &[other_look])), vec![1]);
        // Face 0 back far from where it left (it looks as it did): its ID
        // again.
        let back = face(400.0, 250.0, 80.0);
        let out = tracker.update_with_appearance(2.2, &[face(100.0, 100.0, 80.0), back], &[None, a_look]);
        assert!(out.iter().any(|f| f.id == 0 && (f.detection.bbox.x - 400.0).abs() < 1e-3), "{out:?}");
    }

    #[test]
    fn a_held_box_inside_a_confirmed_face_ends_at_once() {
        let mut tracker = FaceTracker::new(TrackerOptions::default());
        tracker.update(0.0, &[face(100.0, 100.0, 80.0)]);
        // The detector now sees a face twice the size around the old box
        // (IoU 0.25, too different a size to continue it): one face, so
        // the held box goes.
        let out = tracker.update(0.4, &[face(80.0, 80.0, 160.0)]);
        assert_eq!(ids(&out), vec![1], "{out:?}");
        // Two detections of one face: one track.
        let out = tracker.update(0.8, &[face(80.0, 80.0, 160.0), face(84.0, 82.0, 150.0)]);
        assert_eq!(ids(&out), vec![1], "{out:?}");
    }

    #[test]
    fn iou_of_boxes() {
        let a = FaceBox { x: 0.0, y: 0.0, width: 10.0, height: 10.0 };
        let b = FaceBox { x: 5.0, y: 0.0, width: 10.0, height: 10.0 };
        assert!((iou(&a, &b) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(iou(&a, &FaceBox::default()), 0.0);
    }
}
