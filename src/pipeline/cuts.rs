//! Shot cuts. Across a cut nothing on screen continues: a face track must
//! not carry an ID to whoever is at the same place in the next shot, and the
//! flow between frames of two shots is not facial motion. A cut is a frame
//! that differs from the one before it far more than frames of that shot
//! have been differing, in both the picture and its grey-level histogram.
//!
//! Both tests run on a small, area-averaged copy of the frame (pixel noise
//! averages out) with its mean and contrast removed (lighting flicker and
//! exposure changes do not count); a blink or a moving head changes a small
//! part of the frame, or changes it a little, and never both tests at once.
use std::collections::VecDeque;

use opencv::core::{Mat, Size, CV_32F};
use opencv::imgproc;
use opencv::prelude::*;

/// Side of the square thumbnail the frames are compared on.
const THUMB_SIDE: i32 = 32;
/// Histogram bins over ±`HIST_RANGE` standard deviations of the
/// normalised thumbnail.
const HIST_BINS: usize = 16;
const HIST_RANGE: f32 = 2.5;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CutOptions {
    /// Least mean absolute difference of the normalised thumbnails (in
    /// standard deviations of the frame) for a cut.
    pub min_difference: f32,
    /// The difference must also be this many times the median difference
    /// of the last `history_s` (fast motion in a shot is not a cut).
    pub min_difference_ratio: f32,
    /// Least histogram distance (1 − histogram intersection) for a cut.
    pub min_histogram_distance: f32,
    pub history_s: f64,
}

impl Default for CutOptions {
    fn default() -> Self {
        Self { min_difference: 0.45, min_difference_ratio: 4.0, min_histogram_distance: 0.12, history_s: 1.0 }
    }
}

/// How a frame differs from the one before it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FrameChange {
    /// Mean absolute difference of the normalised thumbnails.
    pub difference: f32,
    /// 1 − intersection of the normalised thumbnails' histograms.
    pub histogram_distance: f32,
    pub cut: bool,
}

/// Watches consecutive frames for shot cuts.
pub struct CutDetector {
    options: CutOptions,
    previous: Option<(Vec<f32>, [f32; HIST_BINS])>,
    /// (time, difference) of recent frames within the current shot.
    recent: VecDeque<(f64, f32)>,
}

impl CutDetector {
    pub fn new(options: CutOptions) -> Self {
        Self { options, previous: None, recent: VecDeque::new() }
    }

    /// Compares the 8-bit grey frame at `timestamp_s` with the previous one.
    pub fn push(&mut self, grey: &Mat, timestamp_s: f64) -> Result<FrameChange, opencv::Error> {
        let thumb = normalised_thumbnail(grey)?;
        let histogram = histogram(&thumb);
        let compared = self.previous.as_ref().map(|(previous, previous_histogram)| {
            let difference =
                thumb.iter().zip(previous).map(|(a, b)| (a - b).abs()).sum::<f32>() / thumb.len().max(1) as f32;
            let intersection: f32 = histogram.iter().zip(previous_histogram).map(|(a, b)| a.min(*b)).sum();
            (difference, (1.0 - intersection).max(0.0))
        });
        self.previous = Some((thumb, histogram));
        let Some((difference, histogram_distance)) = compared else { return Ok(FrameChange::default()) };

        while self.recent.front().is_some_and(|&(t, _)| t < timestamp_s - self.options.history_s) {
            self.recent.pop_front();
        }
        let mut recent: Vec<f32> = self.recent.iter().map(|&(_, d)| d).collect();
        let typical = median(&mut recent).unwrap_or(0.0);
        let cut = difference >= self.options.min_difference
            && difference >= self.options.min_difference_ratio * typical
            && histogram_distance >= self.options.min_histogram_distance;
        if cut {
            // A new shot: its own motion is what later frames compare with.
            self.recent.clear();
        } else {
            self.recent.push_back((timestamp_s, difference));
        }
        Ok(FrameChange { difference, histogram_distance, cut })
    }
}

/// The frame area-averaged to `THUMB_SIDE`², minus its mean, over its
/// standard deviation (a flat frame stays all zeros).
fn normalised_thumbnail(grey: &Mat) -> Result<Vec<f32>, opencv::Error> {
    let mut small = Mat::default();
    imgproc::resize(grey, &mut small, Size::new(THUMB_SIDE, THUMB_SIDE), 0.0, 0.0, imgproc::INTER_AREA)?;
    let mut small_f = Mat::default();
    small.convert_to(&mut small_f, CV_32F, 1.0, 0.0)?;
    let mut values = Vec::with_capacity((THUMB_SIDE * THUMB_SIDE) as usize);
    for row in 0..THUMB_SIDE {
        values.extend_from_slice(small_f.at_row::<f32>(row)?);
    }
    let n = values.len().max(1) as f32;
    let mean = values.iter().sum::<f32>() / n;
    let sd = (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n).sqrt();
    let scale = if sd > 1e-3 { 1.0 / sd } else { 0.0 };
    values.iter_mut().for_each(|v| *v = (*v - mean) * scale);
    Ok(values)
}

/// Normalised histogram of a normalised thumbnail (sums to 1).
fn histogram(thumb: &[f32]) -> [f32; HIST_BINS] {
    let mut bins = [0.0f32; HIST_BINS];
    let weight = 1.0 / thumb.len().max(1) as f32;
    for v in thumb {
        let at = ((v + HIST_RANGE) / (2.0 * HIST_RANGE) * HIST_BINS as f32).floor();
        bins[(at.max(0.0) as usize).min(HIST_BINS - 1)] += weight;
    }
    bins
}

fn median(values: &mut [f32]) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    let mid = values.len() / 2;
    let (_, m, _) = values.select_nth_unstable_by(mid, f32::total_cmp);
    Some(*m)
}

#[cfg(test)]
mod tests {
    use opencv::core::{Point, Rect, Scalar, CV_8UC1};

    use super::*;

    /// A grey frame with a bright disc at `centre` over a gradient, times
    /// `gain` (flicker).
    fn scene(centre: (i32, i32), gradient_down: bool, gain: f64) -> Mat {
        let mut frame = Mat::new_rows_cols_with_default(120, 160, CV_8UC1, Scalar::all(0.0)).expect("frame");
        for y in 0..120 {
            for x in 0..160 {
                let v = if gradient_down { 60 + y } else { 200 - x };
                *frame.at_2d_mut::<u8>(y, x).expect("pixel") = v as u8;
            }
        }
        imgproc::circle(&mut frame, Point::new(centre.0, centre.1), 25, Scalar::all(230.0), -1, imgproc::LINE_8, 0)
            .expect("disc");
        imgproc::rectangle(&mut frame, Rect::new(10, 10, 20, 30), Scalar::all(20.0), -1, imgproc::LINE_8, 0)
            .expect("box");
        let mut out = Mat::default();
        frame.convert_to(&mut out, CV_8UC1, gain, 0.0).expect("gain");
        out
    }

    #[test]
    fn motion_and_flicker_are_not_cuts_but_a_new_shot_is() {
        let mut detector = CutDetector::new(CutOptions::default());
        let mut t = 0.0;
        let mut cuts = Vec::new();
        for i in 0..60 {
            // A disc moving 2 px a frame, with the lighting flickering 8 %.
            let gain = if i % 3 == 0 { 0.92 } else { 1.0 };
            let change = detector.push(&scene((40 + 2 * i, 60), true, gain), t).expect("push");
            if change.cut {
                cuts.push(i);
            }
            t += 1.0 / 30.0;
        }
        assert!(cuts.is_empty(), "false cuts at {cuts:?}");
        let change = detector.push(&scene((120, 40), false, 1.0), t).expect("push");
        assert!(change.cut, "{change:?}");
        let change = detector.push(&scene((122, 40), false, 1.0), t + 1.0 / 30.0).expect("push");
        assert!(!change.cut, "{change:?}");
    }
}
