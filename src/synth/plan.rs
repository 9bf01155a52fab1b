//! The timeline of a synthetic clip: when each micro-expression, blink and
//! head movement happens, in whole frames, drawn from the seed alone (no
//! pixels involved, so it is cheap to test at any frame rate).
use super::{SynthError, SynthSpec, CLASS_NAMES};
use crate::train::augment::Rng;

/// Onset → apex lasts this long (seconds, inclusive bounds).
pub const RISE_S: (f64, f64) = (0.10, 0.26);
/// Onset → offset lasts this long (seconds, inclusive bounds).
pub const DURATION_S: (f64, f64) = (0.25, 0.5);
/// Blinks last this long, first to last frame (seconds).
pub const BLINK_S: (f64, f64) = (0.10, 0.30);
/// Least time between two timed items (events or blinks) of one face.
pub const GAP_S: f64 = 1.0;
/// Nothing starts before this, so a spotter has a neutral baseline.
pub const LEAD_IN_S: f64 = 1.0;
/// Nothing ends later than this before the clip's last frame.
pub const TAIL_S: f64 = 0.5;
/// Largest head rotation at `head_motion_px` = 3, in degrees (scales with it).
const ROTATION_DEG_PER_3PX: f64 = 0.75;

#[derive(Clone, Debug, PartialEq)]
pub struct PlannedEvent {
    pub face: u32,
    pub onset_frame: u64,
    pub apex_frame: u64,
    pub offset_frame: u64,
    pub class: usize,
    pub amplitude_px: f32,
}

impl PlannedEvent {
    /// Expression strength in 0..=1 at `frame`: a raised-cosine rise from
    /// onset to apex, then a raised-cosine decay to zero at offset.
    pub fn strength(&self, frame: u64) -> f64 {
        raised_cosine_bump(frame, self.onset_frame, self.apex_frame, self.offset_frame)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PlannedBlink {
    pub face: u32,
    pub start_frame: u64,
    pub end_frame: u64,
}

impl PlannedBlink {
    /// Eyelid closure in 0..=1: closes over the first 40% of the blink,
    /// reopens more slowly over the rest.
    pub fn closure(&self, frame: u64) -> f64 {
        let span = self.end_frame - self.start_frame;
        let peak = self.start_frame + ((span as f64 * 0.4).round() as u64).clamp(1, span.max(1));
        raised_cosine_bump(frame, self.start_frame, peak.min(self.end_frame), self.end_frame)
    }
}

/// Head pose relative to the rest pose: translation in canvas pixels and
/// rotation in degrees (about the face centre).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pose {
    pub dx: f64,
    pub dy: f64,
    pub angle_deg: f64,
}

/// A smooth move of the whole face from one pose to the next.
#[derive(Clone, Debug, PartialEq)]
pub struct HeadMove {
    pub face: u32,
    pub start_frame: u64,
    pub end_frame: u64,
    pub from: Pose,
    pub to: Pose,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    pub frames: u64,
    pub events: Vec<PlannedEvent>,
    pub blinks: Vec<PlannedBlink>,
    pub head_moves: Vec<HeadMove>,
}

impl Plan {
    /// The pose of `face` at `frame` (moves are sorted and never overlap).
    pub fn pose(&self, face: u32, frame: u64) -> Pose {
        let mut pose = Pose::default();
        for m in self.head_moves.iter().filter(|m| m.face == face) {
            if frame >= m.end_frame {
                pose = m.to;
            } else if frame > m.start_frame {
                let t = (frame - m.start_frame) as f64 / (m.end_frame - m.start_frame) as f64;
                let w = 0.5 * (1.0 - (std::f64::consts::PI * t).cos());
                return Pose {
                    dx: m.from.dx + w * (m.to.dx - m.from.dx),
                    dy: m.from.dy + w * (m.to.dy - m.from.dy),
                    angle_deg: m.from.angle_deg + w * (m.to.angle_deg - m.from.angle_deg),
                };
            } else {
                break;
            }
        }
        pose
    }
}

/// 0 at `start`, 1 at `peak`, 0 at `end`, raised-cosine on both sides.
fn raised_cosine_bump(frame: u64, start: u64, peak: u64, end: u64) -> f64 {
    use std::f64::consts::PI;
    if frame == peak {
        return 1.0;
    }
    if frame <= start || frame >= end {
        return 0.0;
    }
    if frame <= peak {
        let t = (frame - start) as f64 / (peak - start) as f64;
        0.5 * (1.0 - (PI * t).cos())
    } else {
        let t = (frame - peak) as f64 / (end - peak) as f64;
        0.5 * (1.0 + (PI * t).cos())
    }
}

/// Whole frames covering at least `seconds` (robust to 0.1 * 30 = 3.0000000000000004).
fn frames_at_least(seconds: f64, fps: f64) -> u64 {
    (seconds * fps - 1e-9).ceil().max(0.0) as u64
}

/// Whole frames covering at most `seconds`.
fn frames_at_most(seconds: f64, fps: f64) -> u64 {
    (seconds * fps + 1e-9).floor().max(0.0) as u64
}

/// Number of frames in a clip of `seconds` at `fps`.
pub fn frame_count(seconds: f64, fps: f64) -> u64 {
    (seconds * fps).round().max(1.0) as u64
}

/// A timed item before placement: its span in frames (last − first).
enum Item {
    Event { rise: u64, span: u64, amplitude_px: f32 },
    Blink { span: u64 },
}

impl Item {
    fn span(&self) -> u64 {
        match self {
            Item::Event { span, .. } | Item::Blink { span } => *span,
        }
    }
}

pub fn plan(spec: &SynthSpec) -> Result<Plan, SynthError> {
    spec.validate()?;
    let fps = spec.fps;
    let frames = frame_count(spec.seconds, fps);
    let classes: Vec<usize> = spec.classes.clone().unwrap_or_else(|| (0..CLASS_NAMES.len()).collect());
    let rise_range = (frames_at_least(RISE_S.0, fps).max(1), frames_at_most(RISE_S.1, fps));
    let span_range = (frames_at_least(DURATION_S.0, fps), frames_at_most(DURATION_S.1, fps));
    let blink_range = (frames_at_least(BLINK_S.0, fps).max(1), frames_at_most(BLINK_S.1, fps));
    if rise_range.0 > rise_range.1 || span_range.0.max(rise_range.0 + 1) > span_range.1 || blink_range.0 > blink_range.1
    {
        return Err(SynthError::BadSpec(format!(
            "{fps} fps is too slow to time micro-expressions in whole frames; use at least 10"
        )));
    }
    let gap = frames_at_least(GAP_S, fps);
    let first = frames_at_least(LEAD_IN_S, fps);
    let last = (frames - 1).saturating_sub(frames_at_least(TAIL_S, fps));

    let mut master = Rng::new(spec.seed);
    let mut out = Plan { frames, ..Plan::default() };
    for face in 0..spec.faces {
        let mut timing = Rng::new(master.next_u64());
        let mut motion = Rng::new(master.next_u64());
        let mut items = Vec::new();
        for _ in 0..spec.events_per_face {
            let rise_s = uniform(&mut timing, RISE_S.0, RISE_S.1);
            let span_s = uniform(&mut timing, DURATION_S.0.max(rise_s + 0.06), DURATION_S.1);
            let rise = ((rise_s * fps).round() as u64).clamp(rise_range.0, rise_range.1);
            let span = ((span_s * fps).round() as u64).clamp(span_range.0.max(rise + 1), span_range.1);
            let amplitude_px = match spec.amplitude_px {
                Some(fixed) => fixed,
                None => uniform(&mut timing, spec.amplitude_range_px.0 as f64, spec.amplitude_range_px.1 as f64) as f32,
            };
            items.push(Item::Event { rise, span, amplitude_px });
        }
        for _ in 0..spec.blinks_per_face {
            let span_s = uniform(&mut timing, BLINK_S.0, BLINK_S.1);
            items.push(Item::Blink { span: ((span_s * fps).round() as u64).clamp(blink_range.0, blink_range.1) });
        }
        timing.shuffle(&mut items);

        if !items.is_empty() {
            let busy: u64 = items.iter().map(Item::span).sum::<u64>() + gap * (items.len() as u64 - 1);
            let room = last.saturating_sub(first);
            if last < first || busy > room {
                let need = (busy + first + frames_at_least(TAIL_S, fps) + 1) as f64 / fps;
                return Err(SynthError::BadSpec(format!(
                    "{} events and {} blinks per face need a clip of at least {need:.1} s (1 s apart, \
                     {LEAD_IN_S} s lead-in, {TAIL_S} s tail); this one is {} s",
                    spec.events_per_face, spec.blinks_per_face, spec.seconds
                )));
            }
            // Spread the spare frames over the n + 1 gaps at random.
            let slack = room - busy;
            let weights: Vec<f64> = (0..=items.len()).map(|_| timing.unit() + 1e-3).collect();
            let total: f64 = weights.iter().sum();
            let mut start = first;
            let mut event_index = 0usize;
            for (i, item) in items.iter().enumerate() {
                start += (slack as f64 * weights[i] / total).floor() as u64;
                let end = start + item.span();
                match *item {
                    Item::Event { rise, amplitude_px, .. } => {
                        out.events.push(PlannedEvent {
                            face,
                            onset_frame: start,
                            apex_frame: start + rise,
                            offset_frame: end,
                            class: classes[event_index % classes.len()],
                            amplitude_px,
                        });
                        event_index += 1;
                    }
                    Item::Blink { .. } => out.blinks.push(PlannedBlink { face, start_frame: start, end_frame: end }),
                }
                start = end + gap;
            }
        }

        if spec.head_motion_px > 0.0 {
            let radius = spec.head_motion_px as f64;
            let max_angle = ROTATION_DEG_PER_3PX * (radius / 3.0).min(2.0);
            let mut from = Pose::default();
            let mut t = uniform(&mut motion, 0.3, 2.0);
            loop {
                let length = uniform(&mut motion, 1.0, 3.0);
                let start_frame = (t * fps).round() as u64;
                let end_frame = ((t + length) * fps).round() as u64;
                if end_frame > frames - 1 || end_frame <= start_frame {
                    break;
                }
                // A uniform point in the disc of radius `radius`.
                let r = radius * motion.unit().sqrt();
                let phi = std::f64::consts::TAU * motion.unit();
                let to = Pose {
                    dx: r * phi.cos(),
                    dy: r * phi.sin(),
                    angle_deg: uniform(&mut motion, -max_angle, max_angle),
                };
                out.head_moves.push(HeadMove { face, start_frame, end_frame, from, to });
                from = to;
                t += length + uniform(&mut motion, 0.5, 2.5);
            }
        }
    }
    Ok(out)
}

fn uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.unit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(fps: f64, seconds: f64, faces: u32) -> SynthSpec {
        SynthSpec { fps, seconds, faces, ..SynthSpec::default() }
    }

    fn check_plan(spec: &SynthSpec) {
        let plan = plan(spec).expect("plan");
        let fps = spec.fps;
        assert_eq!(plan.frames, frame_count(spec.seconds, fps));
        assert_eq!(plan.events.len() as u32, spec.faces * spec.events_per_face);
        assert_eq!(plan.blinks.len() as u32, spec.faces * spec.blinks_per_face);
        let eps = 1e-9;
        for e in &plan.events {
            assert!(e.onset_frame < e.apex_frame && e.apex_frame < e.offset_frame, "{e:?}");
            assert!(e.offset_frame < plan.frames, "{e:?} past the clip");
            assert!(e.onset_frame as f64 / fps >= LEAD_IN_S - eps, "{e:?} inside the lead-in");
            let rise = (e.apex_frame - e.onset_frame) as f64 / fps;
            let duration = (e.offset_frame - e.onset_frame) as f64 / fps;
            assert!((RISE_S.0 - eps..=RISE_S.1 + eps).contains(&rise), "rise {rise} s at {fps} fps");
            assert!(
                (DURATION_S.0 - eps..=DURATION_S.1 + eps).contains(&duration),
                "duration {duration} s at {fps} fps"
            );
            assert!((0.5..=3.0).contains(&e.amplitude_px));
        }
        for b in &plan.blinks {
            let duration = (b.end_frame - b.start_frame) as f64 / fps;
            assert!((BLINK_S.0 - eps..=BLINK_S.1 + eps).contains(&duration), "blink {duration} s at {fps} fps");
            assert!(b.end_frame < plan.frames);
        }
        for face in 0..spec.faces {
            let mut spans: Vec<(u64, u64)> = plan
                .events
                .iter()
                .filter(|e| e.face == face)
                .map(|e| (e.onset_frame, e.offset_frame))
                .chain(plan.blinks.iter().filter(|b| b.face == face).map(|b| (b.start_frame, b.end_frame)))
                .collect();
            spans.sort();
            for pair in spans.windows(2) {
                let gap = (pair[1].0 - pair[0].1) as f64 / fps;
                assert!(pair[1].0 > pair[0].1 && gap >= GAP_S - eps, "items {pair:?} only {gap} s apart at {fps} fps");
            }
            let moves: Vec<_> = plan.head_moves.iter().filter(|m| m.face == face).collect();
            assert!(!moves.is_empty(), "no head motion for face {face}");
            for pair in moves.windows(2) {
                assert!(pair[0].end_frame <= pair[1].start_frame);
            }
            for m in moves {
                assert!(m.end_frame < plan.frames);
                assert!(m.to.dx.hypot(m.to.dy) <= spec.head_motion_px as f64 + eps);
            }
        }
    }

    #[test]
    fn events_fit_the_limits_at_30_and_200_fps() {
        for fps in [30.0, 200.0] {
            for seed in 0..20 {
                check_plan(&SynthSpec { seed, ..spec(fps, 20.0, 1) });
                check_plan(&SynthSpec { seed, ..spec(fps, 20.0, 2) });
            }
        }
        // Odd rates and a tight clip.
        check_plan(&SynthSpec { events_per_face: 4, blinks_per_face: 2, ..spec(25.0, 12.0, 1) });
        check_plan(&SynthSpec { events_per_face: 4, blinks_per_face: 2, ..spec(29.97, 8.5, 1) });
    }

    #[test]
    fn classes_cycle_in_time_order() {
        let plan = plan(&SynthSpec { events_per_face: 5, ..SynthSpec::default() }).expect("plan");
        let classes: Vec<usize> = plan.events.iter().map(|e| e.class).collect();
        assert_eq!(classes, [0, 1, 2, 0, 1]);
        let only = plan_classes(vec![1, 2]);
        assert_eq!(only, [1, 2, 1, 2, 1, 2]);
    }

    fn plan_classes(classes: Vec<usize>) -> Vec<usize> {
        plan(&SynthSpec { classes: Some(classes), ..SynthSpec::default() })
            .expect("plan")
            .events
            .iter()
            .map(|e| e.class)
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_plan_and_another_seed_does_not() {
        let a = plan(&SynthSpec::default()).expect("plan");
        assert_eq!(a, plan(&SynthSpec::default()).expect("plan"));
        assert_ne!(a, plan(&SynthSpec { seed: 7, ..SynthSpec::default() }).expect("plan"));
    }

    #[test]
    fn too_many_events_for_the_clip_is_an_error() {
        let err = plan(&SynthSpec { seconds: 4.0, ..SynthSpec::default() }).expect_err("cannot fit");
        assert!(err.to_string().contains("need a clip of at least"), "{err}");
        assert!(plan(&SynthSpec { fps: 5.0, ..SynthSpec::default() }).is_err());
    }

    #[test]
    fn profiles_rise_to_one_at_apex_and_return_to_zero() {
        let e =
            PlannedEvent { face: 0, onset_frame: 10, apex_frame: 14, offset_frame: 22, class: 0, amplitude_px: 1.0 };
        assert_eq!(e.strength(10), 0.0);
        assert_eq!(e.strength(14), 1.0);
        assert_eq!(e.strength(22), 0.0);
        assert!(e.strength(12) > 0.4 && e.strength(12) < 0.6);
        assert!(e.strength(13) > e.strength(12) && e.strength(15) > e.strength(16));
        let b = PlannedBlink { face: 0, start_frame: 0, end_frame: 5 };
        assert_eq!(b.closure(2), 1.0);
        assert_eq!(b.closure(5), 0.0);
    }
}
