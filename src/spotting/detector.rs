//! Finds onset, apex and offset in the two-sided motion signal of one face.
//! A candidate starts where the signal rises above a rolling baseline
//! (median + z·MAD of the last seconds) and ends where it falls back; its
//! onset and offset are where it crosses a fraction of its own peak, so they
//! do not depend on how noisy the baseline is.
use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::MotionSample;

/// A face "moves" (the class track is worth reading) when its motion rises
/// this many robust SDs above its resting baseline: half the event
/// threshold at the default sensitivity.
pub const MOVING_SIGMAS: f32 = 3.0;

/// Every duration in seconds, never frames.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SpottingOptions {
    /// Reference gap L of the motion signal; longer than any micro-expression.
    pub reference_gap_s: f64,
    /// Span of the rolling baseline.
    pub baseline_s: f64,
    /// How much of that span lies after the sample judged: 0 keeps the
    /// baseline trailing (the last `baseline_s`), as a live session must;
    /// half the span centres it on the sample, which a recorded file can
    /// afford (`SpottingOptions::offline`). A centred baseline measures the
    /// noise around the event itself, so a quiet stretch before a noisy one
    /// (head movement, codec flicker) no longer sets the bar; the price is
    /// that events are decided this much later and the analysis buffers
    /// this much more video.
    pub baseline_lookahead_s: f64,
    /// Rise over the baseline median, in robust standard deviations (1.4826·MAD).
    pub threshold_sigmas: f32,
    /// Smallest rise that counts, in crop pixels (a still face has a tiny MAD).
    pub min_motion_px: f32,
    /// Onset and offset: where the signal crosses this fraction of its rise.
    pub edge_fraction: f32,
    /// Longest micro-expression (onset to offset).
    pub max_duration_s: f64,
    /// Longest onset-to-apex phase.
    pub max_onset_to_apex_s: f64,
    /// Shortest event worth reporting.
    pub min_duration_s: f64,
    /// Shortest interval reported for an event: a shorter measured span
    /// is widened around itself to this. The flow sees only the part of a
    /// movement above its resolution (on a small or re-encoded face the
    /// slow start and end of a micro-expression, which lasts 0.2–0.5 s,
    /// fall under it), so a measured span this short understates the
    /// movement; the duration checks above still use the measured span.
    pub min_reported_s: f64,
    /// Slack on the duration limits for the estimate of onset and offset.
    pub slack_s: f64,
    /// A candidate whose eye-region motion exceeds this multiple of its
    /// expressive motion is a blink.
    pub blink_ratio: f32,
    /// A candidate whose rise is under this fraction of the head's own
    /// displacement is what is left of head motion after compensation.
    pub head_motion_ratio: f32,
}

impl Default for SpottingOptions {
    fn default() -> Self {
        Self {
            reference_gap_s: 0.6,
            baseline_s: 4.0,
            baseline_lookahead_s: 0.0,
            threshold_sigmas: 6.0,
            min_motion_px: 0.12,
            edge_fraction: 0.15,
            max_duration_s: 0.5,
            max_onset_to_apex_s: 0.26,
            min_duration_s: 0.06,
            min_reported_s: 0.2,
            slack_s: 0.1,
            blink_ratio: 1.0,
            head_motion_ratio: 0.25,
        }
    }
}

impl SpottingOptions {
    /// Seconds of look-ahead of a centred baseline: half its span.
    pub const CENTRED_LOOKAHEAD_S: f64 = 2.0;

    /// For recorded files: the baseline centred on the sample (2 s either
    /// side). Live sessions keep the trailing default.
    pub fn offline() -> Self {
        Self { baseline_lookahead_s: Self::CENTRED_LOOKAHEAD_S, ..Self::default() }
    }

    /// The same options with a trailing baseline, for live sessions.
    pub fn trailing(self) -> Self {
        Self { baseline_lookahead_s: 0.0, ..self }
    }

    /// The look-ahead actually used: never more than the baseline's span.
    pub fn lookahead_s(&self) -> f64 {
        self.baseline_lookahead_s.clamp(0.0, self.baseline_s.max(0.0))
    }

    /// Scales the threshold for a sensitivity in 0..1 (0.5 = the default).
    pub fn with_sensitivity(mut self, sensitivity: f32) -> Self {
        let s = sensitivity.clamp(0.0, 1.0);
        self.threshold_sigmas = 12.0 * (1.0 - s).max(0.05);
        self.min_motion_px = 0.24 * (1.0 - s).max(0.05);
        self
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpottedInterval {
    pub onset_frame: u64,
    pub apex_frame: u64,
    pub offset_frame: u64,
    pub onset_s: f64,
    pub apex_s: f64,
    pub offset_s: f64,
    /// Motion at the apex above the baseline, px.
    pub rise_px: f32,
    /// The same in robust standard deviations of the baseline.
    pub score: f32,
}

/// Why a candidate was not reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    TooLong,
    TooShort,
    SlowOnset,
    Blink,
    HeadMotion,
}

/// Streaming spotter for one face.
pub struct Spotter {
    options: SpottingOptions,
    /// Quiet samples of the last `baseline_s` (candidates are kept out).
    baseline: VecDeque<MotionSample>,
    /// Samples pushed but not judged yet: the look-ahead of a centred
    /// baseline (always empty with a trailing one).
    ahead: VecDeque<MotionSample>,
    /// Recent samples, kept for walking back to an onset.
    recent: VecDeque<MotionSample>,
    active: Option<Candidate>,
    /// After a movement too long to be micro: the level the signal must fall
    /// back under before a new candidate may start.
    recovering: Option<f32>,
    pub rejected: Vec<(SpottedInterval, Rejection)>,
}

struct Candidate {
    median: f32,
    sigma: f32,
    samples: Vec<MotionSample>,
    /// Consecutive samples back under the end threshold.
    quiet: usize,
}

impl Spotter {
    pub fn new(options: SpottingOptions) -> Self {
        Self {
            options,
            baseline: VecDeque::new(),
            ahead: VecDeque::new(),
            recent: VecDeque::new(),
            active: None,
            recovering: None,
            rejected: Vec::new(),
        }
    }

    pub fn options(&self) -> &SpottingOptions {
        &self.options
    }

    /// Adds one two-sided sample (in time order); returns events that ended.
    /// With a centred baseline a sample is judged once the look-ahead after
    /// it has arrived, so events come that much later.
    pub fn push(&mut self, sample: MotionSample) -> Vec<SpottedInterval> {
        let lookahead_s = self.options.lookahead_s();
        if lookahead_s <= 0.0 {
            return self.judge(sample);
        }
        self.ahead.push_back(sample);
        let mut out = Vec::new();
        while self.ahead.front().is_some_and(|s| s.timestamp_s + lookahead_s <= sample.timestamp_s + 1e-9) {
            if let Some(next) = self.ahead.pop_front() {
                out.extend(self.judge(next));
            }
        }
        out
    }

    /// Judges one sample against the baseline around it.
    fn judge(&mut self, sample: MotionSample) -> Vec<SpottedInterval> {
        let mut out = Vec::new();
        let lookback_s = self.options.max_onset_to_apex_s + self.options.slack_s;
        while self.recent.front().is_some_and(|s| s.timestamp_s < sample.timestamp_s - lookback_s) {
            self.recent.pop_front();
        }
        if let Some(candidate) = &mut self.active {
            candidate.samples.push(sample);
            let end_level = candidate.median + 2.0 * candidate.sigma;
            candidate.quiet = if sample.expressive <= end_level { candidate.quiet + 1 } else { 0 };
            let span = sample.timestamp_s - candidate.samples[0].timestamp_s;
            // Ends after two quiet samples, or when far too long to be micro.
            let too_long = span > 2.0 * self.options.max_duration_s + self.options.slack_s;
            if candidate.quiet >= 2 || too_long {
                if too_long {
                    self.recovering = Some(end_level);
                }
                if let Some(candidate) = self.active.take() {
                    out.extend(self.finish_candidate(candidate));
                }
            }
        } else if let Some(end_level) = self.recovering {
            if sample.expressive <= end_level {
                self.recovering = None;
            }
        } else if let Some((median, sigma)) = self.baseline_stats(sample.timestamp_s) {
            let threshold = median + (self.options.threshold_sigmas * sigma).max(self.options.min_motion_px);
            if sample.expressive > threshold {
                let mut samples: Vec<MotionSample> = self.recent.iter().copied().collect();
                samples.push(sample);
                self.active = Some(Candidate { median, sigma, samples, quiet: 0 });
            } else {
                self.baseline.push_back(sample);
            }
        } else {
            self.baseline.push_back(sample);
        }
        let trailing_s = self.options.baseline_s - self.options.lookahead_s();
        while self.baseline.front().is_some_and(|s| s.timestamp_s < sample.timestamp_s - trailing_s) {
            self.baseline.pop_front();
        }
        self.recent.push_back(sample);
        out
    }

    /// Whether `sample` (not pushed yet) rises above the face's resting
    /// motion: by `MOVING_SIGMAS` robust SDs of the baseline (of the open
    /// candidate's, during one) and by half the smallest event motion.
    /// `None` until the baseline spans a second. Lower than the event
    /// threshold: a reviewer should see where the face moves at all.
    pub fn is_moving(&self, sample: &MotionSample) -> Option<bool> {
        let (median, sigma) = match &self.active {
            Some(candidate) => (candidate.median, candidate.sigma),
            None => self.baseline_stats(sample.timestamp_s)?,
        };
        let rise = (MOVING_SIGMAS * sigma).max(0.5 * self.options.min_motion_px);
        Some(sample.expressive > median + rise)
    }

    /// Ends the stream: the samples still waiting for their look-ahead are
    /// judged on what follows them, and a candidate still open on what it has.
    pub fn finish(&mut self) -> Vec<SpottedInterval> {
        let mut out = Vec::new();
        while let Some(next) = self.ahead.pop_front() {
            out.extend(self.judge(next));
        }
        out.extend(self.active.take().and_then(|c| self.finish_candidate(c)));
        out
    }

    /// Median and robust sigma of the baseline, once it spans a second: the
    /// quiet samples before `now_s` and, with a centred baseline, the
    /// look-ahead after it. A later sample counts as quiet when it stays
    /// under the event threshold of the whole window (the rule that keeps
    /// earlier candidates out), so an event coming up does not raise the
    /// bar for the one before it.
    fn baseline_stats(&self, now_s: f64) -> Option<(f32, f32)> {
        let first_s = self.baseline.front().or(self.ahead.front())?.timestamp_s;
        let last_s = self.ahead.back().map_or(now_s, |s| s.timestamp_s.max(now_s));
        let count = self.baseline.len() + self.ahead.len();
        if last_s - first_s < 1.0_f64.min(self.options.baseline_s) || count < 5 {
            return None;
        }
        let mut values: Vec<f32> = self.baseline.iter().chain(&self.ahead).map(|s| s.expressive).collect();
        let (centre, sigma) = robust_stats(&mut values);
        if self.ahead.is_empty() {
            return Some((centre, sigma));
        }
        let bar = centre + (self.options.threshold_sigmas * sigma).max(self.options.min_motion_px);
        let mut quiet: Vec<f32> = self
            .baseline
            .iter()
            .map(|s| s.expressive)
            .chain(self.ahead.iter().map(|s| s.expressive).filter(|&v| v <= bar))
            .collect();
        Some(robust_stats(&mut quiet))
    }

    fn finish_candidate(&mut self, candidate: Candidate) -> Option<SpottedInterval> {
        let samples = &candidate.samples;
        let (apex_at, apex) = samples
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.expressive.total_cmp(&b.1.expressive))
            .map(|(i, s)| (i, *s))?;
        let rise = apex.expressive - candidate.median;
        let edge = candidate.median + self.options.edge_fraction * rise;
        // No quiet sample before the apex: the rise began before the lookback.
        let onset_found = (0..apex_at).rev().find(|&i| samples[i].expressive <= edge);
        let onset_at = onset_found.map_or(0, |i| i + 1);
        let offset_at =
            (apex_at + 1..samples.len()).find(|&i| samples[i].expressive <= edge).map_or(samples.len() - 1, |i| i - 1);
        let (onset, offset) = (samples[onset_at], samples[offset_at]);
        let (first, last) = widen(samples, onset_at, offset_at, self.options.min_reported_s);
        let (reported_onset, reported_offset) = (samples[first], samples[last]);
        let interval = SpottedInterval {
            onset_frame: reported_onset.frame,
            apex_frame: apex.frame,
            offset_frame: reported_offset.frame,
            onset_s: reported_onset.timestamp_s,
            apex_s: apex.timestamp_s,
            offset_s: reported_offset.timestamp_s,
            rise_px: rise,
            score: rise / candidate.sigma.max(1e-3),
        };
        let o = &self.options;
        let rejection = if offset.timestamp_s - onset.timestamp_s > o.max_duration_s + o.slack_s {
            Some(Rejection::TooLong)
        } else if offset.timestamp_s - onset.timestamp_s < o.min_duration_s {
            Some(Rejection::TooShort)
        } else if onset_found.is_none() || apex.timestamp_s - onset.timestamp_s > o.max_onset_to_apex_s + o.slack_s {
            Some(Rejection::SlowOnset)
        } else if apex.eyes > o.blink_ratio * apex.expressive {
            Some(Rejection::Blink)
        } else if rise < o.head_motion_ratio * apex.head {
            Some(Rejection::HeadMotion)
        } else {
            None
        };
        match rejection {
            Some(why) => {
                self.rejected.push((interval, why));
                None
            }
            None => Some(interval),
        }
    }
}

/// Widens the span `first..=last` of `samples` to `min_s`, a sample at a
/// time on the side that lags (the later side first on a tie), as far as
/// the samples reach; returns the new ends.
fn widen(samples: &[MotionSample], mut first: usize, mut last: usize, min_s: f64) -> (usize, usize) {
    let (onset_at, offset_at) = (first, last);
    while samples[last].timestamp_s - samples[first].timestamp_s < min_s - 1e-9 {
        let before = samples[onset_at].timestamp_s - samples[first].timestamp_s;
        let after = samples[last].timestamp_s - samples[offset_at].timestamp_s;
        let can_after = last + 1 < samples.len();
        if first > 0 && (before < after || !can_after) {
            first -= 1;
        } else if can_after {
            last += 1;
        } else {
            break;
        }
    }
    (first, last)
}

/// Median and robust standard deviation (1.4826·MAD); reorders `values`.
fn robust_stats(values: &mut [f32]) -> (f32, f32) {
    let centre = median(values);
    let mut deviations: Vec<f32> = values.iter().map(|v| (v - centre).abs()).collect();
    (centre, 1.4826 * median(&mut deviations))
}

fn median(values: &mut [f32]) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let mid = values.len() / 2;
    values.select_nth_unstable_by(mid, f32::total_cmp);
    values[mid]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic noise floor around 0.05 px.
    fn noise(i: u64) -> f32 {
        let x = (i.wrapping_mul(2654435761) % 1000) as f32 / 1000.0;
        0.04 + 0.02 * x
    }

    /// Raised-cosine event: rises over `rise_s`, decays over `decay_s`.
    fn event(t: f64, onset: f64, rise_s: f64, decay_s: f64, peak: f32) -> f32 {
        let x = t - onset;
        let shape = if x < 0.0 || x > rise_s + decay_s {
            0.0
        } else if x <= rise_s {
            0.5 * (1.0 - (std::f64::consts::PI * x / rise_s).cos())
        } else {
            0.5 * (1.0 + (std::f64::consts::PI * (x - rise_s) / decay_s).cos())
        };
        peak * shape as f32
    }

    fn run(fps: f64, seconds: f64, signal: impl Fn(f64) -> (f32, f32)) -> (Vec<SpottedInterval>, Spotter) {
        run_with(SpottingOptions::default(), fps, seconds, signal)
    }

    fn run_with(
        options: SpottingOptions,
        fps: f64,
        seconds: f64,
        signal: impl Fn(f64) -> (f32, f32),
    ) -> (Vec<SpottedInterval>, Spotter) {
        let mut spotter = Spotter::new(options);
        let mut found = Vec::new();
        for frame in 0..(seconds * fps) as u64 {
            let t = frame as f64 / fps;
            let (expressive, eyes) = signal(t);
            found.extend(spotter.push(MotionSample {
                frame,
                timestamp_s: t,
                expressive: expressive + noise(frame),
                eyes,
                head: 0.0,
            }));
        }
        found.extend(spotter.finish());
        (found, spotter)
    }

    #[test]
    fn moving_marks_rises_well_below_an_event_and_nothing_at_rest() {
        let mut spotter = Spotter::new(SpottingOptions::default());
        let fps = 30.0;
        let mut moving = Vec::new();
        for frame in 0..(8.0 * fps) as u64 {
            let t = frame as f64 / fps;
            // A small movement of 0.1 px at 5 s: under the event threshold
            // (6 SDs, 0.12 px at least), well over 3 SDs of the 0.006 px noise.
            let sample = MotionSample {
                frame,
                timestamp_s: t,
                expressive: noise(frame) + event(t, 5.0, 0.2, 0.2, 0.1),
                eyes: 0.0,
                head: 0.0,
            };
            moving.push((t, spotter.is_moving(&sample)));
            assert!(spotter.push(sample).is_empty(), "the small movement is no event");
        }
        assert!(moving.iter().filter(|(t, _)| *t < 1.0).all(|(_, m)| m.is_none()), "no baseline yet");
        let at_rest = moving.iter().filter(|(t, _)| (1.5..4.9).contains(t) || *t > 5.5);
        assert!(at_rest.clone().all(|(_, m)| *m == Some(false)), "{:?}", at_rest.collect::<Vec<_>>());
        let during = moving.iter().filter(|(t, _)| (5.12..5.3).contains(t));
        assert!(during.clone().all(|(_, m)| *m == Some(true)), "{:?}", during.collect::<Vec<_>>());
    }

    #[test]
    fn finds_onset_apex_offset_at_any_frame_rate() {
        for fps in [25.0, 30.0, 100.0, 200.0] {
            let (found, _) = run(fps, 10.0, |t| (event(t, 5.0, 0.15, 0.2, 0.6), 0.0));
            assert_eq!(found.len(), 1, "{fps} fps: {found:?}");
            let e = &found[0];
            assert!((e.apex_s - 5.15).abs() <= 1.0 / fps + 1e-9, "{fps} fps apex {}", e.apex_s);
            // Edges at 15 % of the rise sit about a quarter of each phase inside.
            assert!(e.onset_s > 4.98 && e.onset_s < 5.08, "{fps} fps onset {}", e.onset_s);
            assert!(e.offset_s > 5.22 && e.offset_s < 5.35, "{fps} fps offset {}", e.offset_s);
            assert!(e.score > 10.0);
        }
    }

    #[test]
    fn a_short_measured_span_is_reported_widened_around_itself() {
        // A brisk movement (0.06 s up, 0.08 s down): its measured span is
        // about 0.1 s, reported as 0.2 s around it; the apex stays put.
        let (found, _) = run(30.0, 10.0, |t| (event(t, 5.0, 0.06, 0.08, 0.6), 0.0));
        assert_eq!(found.len(), 1, "{found:?}");
        let e = &found[0];
        assert!((e.offset_s - e.onset_s - 0.2).abs() < 1e-6, "reported {} to {}", e.onset_s, e.offset_s);
        assert!((e.apex_s - 5.067).abs() < 0.02, "apex {}", e.apex_s);
        // Centred on the measured span (5.033 to 5.1 at 15 % of the rise).
        assert!((e.onset_s - 4.967).abs() < 0.02 && (e.offset_s - 5.167).abs() < 0.02, "{e:?}");
        let narrow = SpottingOptions { min_reported_s: 0.0, ..SpottingOptions::default() };
        let mut spotter = Spotter::new(narrow);
        let mut measured = Vec::new();
        for frame in 0..300u64 {
            let t = frame as f64 / 30.0;
            let expressive = event(t, 5.0, 0.06, 0.08, 0.6) + noise(frame);
            measured.extend(spotter.push(MotionSample { frame, timestamp_s: t, expressive, eyes: 0.0, head: 0.0 }));
        }
        assert_eq!(measured.len(), 1);
        let m = &measured[0];
        assert!(m.offset_s - m.onset_s < 0.12 && m.onset_s >= e.onset_s && m.offset_s <= e.offset_s, "{m:?}");
    }

    #[test]
    fn long_movements_and_blinks_are_rejected() {
        // A 1.5 s macro movement and a blink (eyes dominate).
        let (found, spotter) = run(30.0, 12.0, |t| {
            let macro_move = event(t, 3.0, 0.7, 0.8, 0.8);
            let blink = event(t, 8.0, 0.08, 0.12, 0.3);
            (macro_move + blink, 6.0 * blink)
        });
        assert!(found.is_empty(), "{found:?}");
        let reasons: Vec<Rejection> = spotter.rejected.iter().map(|r| r.1).collect();
        assert!(reasons.contains(&Rejection::TooLong) && reasons.contains(&Rejection::Blink), "{reasons:?}");
    }

    #[test]
    fn quiet_video_yields_nothing_and_weak_motion_stays_under_the_floor() {
        let (found, _) = run(30.0, 20.0, |t| (event(t, 10.0, 0.1, 0.2, 0.05), 0.0));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn two_events_a_second_apart_are_both_found() {
        let (found, _) = run(30.0, 12.0, |t| (event(t, 5.0, 0.12, 0.2, 0.5) + event(t, 6.5, 0.2, 0.25, 0.9), 0.0));
        let apexes: Vec<f64> = found.iter().map(|e| e.apex_s).collect();
        assert_eq!(apexes.len(), 2, "{found:?}");
        assert!((apexes[0] - 5.12).abs() < 0.05 && (apexes[1] - 6.7).abs() < 0.05, "{apexes:?}");
    }

    #[test]
    fn a_centred_baseline_finds_the_same_event_and_decides_it_later() {
        for fps in [25.0, 30.0, 100.0] {
            let signal = |t| (event(t, 5.0, 0.15, 0.2, 0.6), 0.0);
            let (trailing, _) = run(fps, 10.0, signal);
            let (centred, _) = run_with(SpottingOptions::offline(), fps, 10.0, signal);
            let frames = |found: &[SpottedInterval]| -> Vec<(u64, u64, u64)> {
                found.iter().map(|e| (e.onset_frame, e.apex_frame, e.offset_frame)).collect()
            };
            assert_eq!(frames(&centred), frames(&trailing), "{fps} fps");
            assert_eq!(centred.len(), 1, "{fps} fps");
        }
        // Streaming, the event comes out once 2 s more have been pushed.
        let mut spotter = Spotter::new(SpottingOptions::offline());
        let mut reported_at = None;
        for frame in 0..300u64 {
            let t = frame as f64 / 30.0;
            let sample =
                MotionSample { frame, timestamp_s: t, expressive: event(t, 5.0, 0.15, 0.2, 0.6) + noise(frame), eyes: 0.0, head: 0.0 };
            if !spotter.push(sample).is_empty() {
                reported_at = Some(t);
            }
        }
        // Two quiet samples after the offset (about 5.3 s), then the look-ahead.
        let at = reported_at.expect("reported before the end");
        assert!((7.3..7.5).contains(&at), "reported at {at}");
    }

    #[test]
    fn a_centred_baseline_spots_in_the_first_second() {
        // The trailing baseline needs a second of signal before it judges anything.
        let signal = |t| (event(t, 0.4, 0.12, 0.2, 0.6), 0.0);
        let (trailing, _) = run(30.0, 8.0, signal);
        let (centred, _) = run_with(SpottingOptions::offline(), 30.0, 8.0, signal);
        assert!(trailing.is_empty(), "{trailing:?}");
        assert_eq!(centred.len(), 1, "{centred:?}");
        assert!((centred[0].apex_s - 0.53).abs() < 0.04, "{centred:?}");
    }

    /// Noise of 0.05-0.2 px, as a head movement leaves after compensation.
    fn rough(i: u64) -> f32 {
        0.05 + 0.15 * ((i.wrapping_mul(40503).wrapping_add(17) % 997) as f32 / 997.0)
    }

    #[test]
    fn a_centred_baseline_does_not_fire_where_rough_motion_sets_in() {
        // Rough motion from 2 to 5 s (0.05-0.2 px, as head movement leaves
        // after compensation), then a 0.3 px event at 5.5 s on a still
        // face. A trailing baseline is still quiet when the roughness
        // starts, so its first peaks look like events; a centred one
        // already holds the roughness that follows.
        let signal = |frame: u64, t: f64| {
            let base = if (2.0..5.0).contains(&t) { rough(frame) } else { noise(frame) };
            base + event(t, 5.5, 0.15, 0.2, 0.3)
        };
        let spot = |options: SpottingOptions| {
            let mut spotter = Spotter::new(options);
            let mut found = Vec::new();
            for frame in 0..300u64 {
                let t = frame as f64 / 30.0;
                let sample = MotionSample { frame, timestamp_s: t, expressive: signal(frame, t), eyes: 0.0, head: 0.0 };
                found.extend(spotter.push(sample));
            }
            found.extend(spotter.finish());
            found
        };
        let trailing = spot(SpottingOptions::default());
        let centred = spot(SpottingOptions::offline());
        let apexes = |found: &[SpottedInterval]| -> Vec<u64> { found.iter().map(|e| e.apex_frame).collect() };
        // The event (apex at 5.63 s) and, trailing, two inside the roughness.
        assert_eq!(apexes(&trailing), [67, 144, 169], "{trailing:?}");
        assert_eq!(apexes(&centred), [169], "{centred:?}");
    }
}
