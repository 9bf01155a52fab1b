//! Per-stage wall time of the pipeline, for `glimpse bench pipeline`.
use std::time::Instant;

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Decode,
    Detect,
    /// The face mesh on the detected faces (on the decode thread offline).
    Mesh,
    Align,
    Flow,
    Spot,
    Classify,
}

impl Stage {
    pub const ALL: [Stage; 7] =
        [Stage::Decode, Stage::Detect, Stage::Mesh, Stage::Align, Stage::Flow, Stage::Spot, Stage::Classify];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Decode => "decode",
            Stage::Detect => "detect",
            Stage::Mesh => "mesh",
            Stage::Align => "align",
            Stage::Flow => "flow",
            Stage::Spot => "spot",
            Stage::Classify => "classify",
        }
    }
}

/// Milliseconds per frame spent in each stage (a stage that did not run on a
/// frame, such as detection between detector runs, counts 0 for it).
#[derive(Clone, Debug, Default)]
pub struct StageTimings {
    samples: [Vec<f32>; Stage::ALL.len()],
    /// The frame being timed: stages can run several times per frame (once
    /// per face), so time adds up here until `end_frame`.
    current: [f32; Stage::ALL.len()],
    /// Milliseconds MOL-lite took on each event (its frames prepared and
    /// the forward pass; also inside `Classify`), one per event it ran on.
    pub mol_event_ms: Vec<f32>,
}

impl StageTimings {
    /// Charges `ms` to `stage` in the current frame.
    pub fn add(&mut self, stage: Stage, ms: f32) {
        self.current[stage as usize] += ms;
    }

    /// Runs `work`, charging its time to `stage` in the current frame.
    pub fn time<T>(&mut self, stage: Stage, work: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = work();
        self.add(stage, started.elapsed().as_secs_f32() * 1e3);
        out
    }

    /// Closes the current frame's totals.
    pub fn end_frame(&mut self) {
        for (samples, ms) in self.samples.iter_mut().zip(self.current.iter_mut()) {
            samples.push(std::mem::take(ms));
        }
    }

    /// Frames timed.
    pub fn frames(&self) -> usize {
        self.samples[0].len()
    }

    /// Per-frame totals of a stage, ms.
    pub fn samples(&self, stage: Stage) -> &[f32] {
        &self.samples[stage as usize]
    }

    /// Median and 95th percentile, ms.
    pub fn summary(&self, stage: Stage) -> (f32, f32) {
        let mut v = self.samples[stage as usize].clone();
        if v.is_empty() {
            return (0.0, 0.0);
        }
        v.sort_by(f32::total_cmp);
        let at = |q: f32| v[((v.len() - 1) as f32 * q).round() as usize];
        (at(0.5), at(0.95))
    }

    pub fn mean(&self, stage: Stage) -> f32 {
        let v = &self.samples[stage as usize];
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f32>() / v.len() as f32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_gives_median_and_p95() {
        let mut t = StageTimings::default();
        for ms in 1..=100 {
            t.add(Stage::Flow, ms as f32 / 2.0);
            t.add(Stage::Flow, ms as f32 / 2.0);
            t.end_frame();
        }
        assert_eq!(t.frames(), 100);
        assert_eq!(t.summary(Stage::Flow), (51.0, 95.0));
        assert_eq!(t.summary(Stage::Decode), (0.0, 0.0));
        assert!((t.mean(Stage::Flow) - 50.5).abs() < 1e-4);
    }
}
