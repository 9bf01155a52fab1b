//! Calibrated confidence: one temperature T, softmax(log p / T), fitted on
//! LOSO predictions (each subject's from a model that never saw it), its
//! expected calibration error and the reliability diagram.
//!
//! Scored honestly by cross-fitting: each subject's probabilities are
//! calibrated with a T fitted on the other subjects alone. The T shipped
//! with the weights is fitted on every subject's LOSO predictions.
use serde::{Deserialize, Serialize};

/// Bins of the reliability diagram and the ECE, equal width in confidence.
pub const CALIBRATION_BINS: usize = 10;

/// One subject's LOSO outcome: (true class, class probabilities) per sample.
pub type SubjectProbabilities = Vec<(usize, Vec<f32>)>;

/// softmax(log p / T) of one probability vector.
pub fn temperature_scaled(probabilities: &[f32], temperature: f64) -> Vec<f32> {
    let logs: Vec<f64> = probabilities.iter().map(|&p| f64::from(p.max(1e-12)).ln() / temperature).collect();
    let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logs.iter().map(|l| (l - top).exp()).collect();
    let total: f64 = exps.iter().sum();
    exps.iter().map(|e| (e / total) as f32).collect()
}

/// Mean negative log-likelihood of the true classes at temperature `t`.
fn mean_nll(samples: &[&(usize, Vec<f32>)], temperature: f64) -> f64 {
    let total: f64 = samples
        .iter()
        .map(|(truth, p)| -f64::from(temperature_scaled(p, temperature)[*truth].max(1e-12)).ln())
        .sum();
    total / samples.len().max(1) as f64
}

/// The temperature that minimises the mean NLL, searched over 0.2–5 on a
/// log grid and refined by golden-section search (the NLL is smooth and
/// unimodal in log T for a fixed set of probabilities).
pub fn fit_temperature(samples: &[&(usize, Vec<f32>)]) -> f64 {
    if samples.is_empty() {
        return 1.0;
    }
    let grid: Vec<f64> = (0..=60).map(|i| (0.2f64.ln() + (25.0f64.ln()) * i as f64 / 60.0).exp()).collect();
    let best = grid
        .iter()
        .copied()
        .enumerate()
        .min_by(|a, b| mean_nll(samples, a.1).total_cmp(&mean_nll(samples, b.1)))
        .map_or(30, |(i, _)| i);
    let (mut low, mut high) = (grid[best.saturating_sub(1)].ln(), grid[(best + 1).min(grid.len() - 1)].ln());
    let golden = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..40 {
        let a = high - golden * (high - low);
        let b = low + golden * (high - low);
        if mean_nll(samples, a.exp()) < mean_nll(samples, b.exp()) {
            high = b;
        } else {
            low = a;
        }
    }
    ((low + high) / 2.0).exp()
}

/// One confidence bin of the reliability diagram.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    pub low: f64,
    pub high: f64,
    pub samples: usize,
    /// Mean top-class probability of the bin's samples.
    pub confidence: f64,
    /// Share of them whose top class is right.
    pub accuracy: f64,
}

/// Reliability bins and the expected calibration error (the bins' |accuracy
/// − confidence| weighted by their share of samples).
pub fn reliability(samples: &[(usize, Vec<f32>)]) -> (Vec<ReliabilityBin>, f64) {
    let mut bins: Vec<ReliabilityBin> = (0..CALIBRATION_BINS)
        .map(|i| ReliabilityBin {
            low: i as f64 / CALIBRATION_BINS as f64,
            high: (i + 1) as f64 / CALIBRATION_BINS as f64,
            samples: 0,
            confidence: 0.0,
            accuracy: 0.0,
        })
        .collect();
    for (truth, p) in samples {
        let (top, confidence) =
            p.iter().copied().enumerate().fold((0, f32::MIN), |best, (c, q)| if q > best.1 { (c, q) } else { best });
        let index = ((f64::from(confidence) * CALIBRATION_BINS as f64) as usize).min(CALIBRATION_BINS - 1);
        let bin = &mut bins[index];
        bin.samples += 1;
        bin.confidence += f64::from(confidence);
        bin.accuracy += f64::from(u8::from(top == *truth));
    }
    let total = samples.len().max(1) as f64;
    let mut ece = 0.0;
    for bin in &mut bins {
        if bin.samples > 0 {
            bin.confidence /= bin.samples as f64;
            bin.accuracy /= bin.samples as f64;
            ece += bin.samples as f64 / total * (bin.accuracy - bin.confidence).abs();
        }
    }
    (bins, ece)
}

/// Calibration of one LOSO run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationReport {
    /// T fitted on every subject's predictions: the one to ship.
    pub temperature: f64,
    /// Each subject's T, fitted on the other subjects (cross-fitting), in
    /// subject order.
    pub cross_fitted_temperatures: Vec<f64>,
    pub ece_uncalibrated: f64,
    /// ECE of the cross-fitted probabilities: what calibration does for a
    /// subject it never saw.
    pub ece_calibrated: f64,
    pub nll_uncalibrated: f64,
    pub nll_calibrated: f64,
    pub bins_uncalibrated: Vec<ReliabilityBin>,
    pub bins_calibrated: Vec<ReliabilityBin>,
}

/// Fits and scores the temperature over subjects; `None` without samples.
pub fn calibrate_subjects(subjects: &[SubjectProbabilities]) -> Option<CalibrationReport> {
    let all: Vec<&(usize, Vec<f32>)> = subjects.iter().flatten().collect();
    if all.is_empty() {
        return None;
    }
    let mut cross_fitted_temperatures = Vec::with_capacity(subjects.len());
    let mut calibrated: Vec<(usize, Vec<f32>)> = Vec::with_capacity(all.len());
    for (index, subject) in subjects.iter().enumerate() {
        let others: Vec<&(usize, Vec<f32>)> =
            subjects.iter().enumerate().filter(|(i, _)| *i != index).flat_map(|(_, s)| s.iter()).collect();
        let t = fit_temperature(&others);
        cross_fitted_temperatures.push(t);
        calibrated.extend(subject.iter().map(|(truth, p)| (*truth, temperature_scaled(p, t))));
    }
    let uncalibrated: Vec<(usize, Vec<f32>)> = all.iter().map(|s| (*s).clone()).collect();
    let (bins_uncalibrated, ece_uncalibrated) = reliability(&uncalibrated);
    let (bins_calibrated, ece_calibrated) = reliability(&calibrated);
    let calibrated_refs: Vec<&(usize, Vec<f32>)> = calibrated.iter().collect();
    Some(CalibrationReport {
        temperature: fit_temperature(&all),
        cross_fitted_temperatures,
        ece_uncalibrated,
        ece_calibrated,
        nll_uncalibrated: mean_nll(&all, 1.0),
        nll_calibrated: mean_nll(&calibrated_refs, 1.0),
        bins_uncalibrated,
        bins_calibrated,
    })
}

/// The reliability diagram as an RGB PNG: per confidence bin, the accuracy
/// before (grey) and after calibration (blue) as bars beside each other,
/// the diagonal of perfect calibration in red, on a white square.
pub fn reliability_png(report: &CalibrationReport) -> Result<Vec<u8>, png::EncodingError> {
    const SIDE: usize = 400;
    const MARGIN: usize = 30;
    let plot = SIDE - 2 * MARGIN;
    let mut pixels = vec![255u8; SIDE * SIDE * 3];
    let mut put = |x: usize, y: usize, rgb: [u8; 3]| {
        if x < SIDE && y < SIDE {
            let i = (y * SIDE + x) * 3;
            pixels[i..i + 3].copy_from_slice(&rgb);
        }
    };
    // Axes.
    for i in 0..=plot {
        put(MARGIN + i, MARGIN + plot, [0, 0, 0]);
        put(MARGIN, MARGIN + i, [0, 0, 0]);
    }
    let bar_width = plot / CALIBRATION_BINS;
    let half = bar_width / 2;
    for (index, (before, after)) in report.bins_uncalibrated.iter().zip(&report.bins_calibrated).enumerate() {
        let x0 = MARGIN + index * bar_width;
        for (offset, bin, colour) in [(1, before, [160, 160, 160]), (half, after, [40, 90, 200])] {
            if bin.samples == 0 {
                continue;
            }
            let height = (bin.accuracy * plot as f64).round() as usize;
            for x in x0 + offset..x0 + offset + half - 1 {
                for y in 0..height {
                    put(x, MARGIN + plot - 1 - y, colour);
                }
            }
        }
    }
    // Perfect calibration.
    for i in 0..plot {
        for w in 0..2 {
            put(MARGIN + i, MARGIN + plot - 1 - i + w, [210, 30, 30]);
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, SIDE as u32, SIDE as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Samples whose top probability is `confidence` and right `accuracy` of the time.
    fn overconfident(count: usize, confidence: f32, accuracy: f64) -> Vec<(usize, Vec<f32>)> {
        (0..count)
            .map(|i| {
                let truth = i % 3;
                let right = (i as f64 + 0.5) / (count as f64) < accuracy;
                let top = if right { truth } else { (truth + 1) % 3 };
                let mut p = vec![(1.0 - confidence) / 2.0; 3];
                p[top] = confidence;
                (truth, p)
            })
            .collect()
    }

    #[test]
    fn temperature_scaling_keeps_the_ranking_and_flattens_above_one() {
        let p = [0.7f32, 0.2, 0.1];
        assert_eq!(temperature_scaled(&p, 1.0).iter().map(|x| (x * 1e4).round()).collect::<Vec<_>>(), vec![
            7000.0, 2000.0, 1000.0
        ]);
        let soft = temperature_scaled(&p, 2.0);
        assert!(soft[0] < 0.7 && soft[0] > soft[1] && soft[1] > soft[2]);
        assert!((soft.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn an_overconfident_model_gets_a_temperature_above_one_and_a_smaller_error() {
        // 95 % sure, 60 % right: ECE 0.35 before.
        let subjects: Vec<SubjectProbabilities> = (0..10).map(|_| overconfident(20, 0.95, 0.6)).collect();
        let report = calibrate_subjects(&subjects).expect("samples");
        assert!((report.ece_uncalibrated - 0.35).abs() < 1e-6, "{}", report.ece_uncalibrated);
        assert!(report.temperature > 1.5, "T {}", report.temperature);
        assert!(report.ece_calibrated < 0.05, "ECE after {}", report.ece_calibrated);
        assert!(report.nll_calibrated < report.nll_uncalibrated);
        // The fitted T puts the top probability at the accuracy.
        let top = temperature_scaled(&subjects[0][0].1, report.temperature)[subjects[0][0].1
            .iter()
            .enumerate()
            .fold((0, 0.0), |b, (i, &p)| if p > b.1 { (i, p) } else { b })
            .0];
        assert!((f64::from(top) - 0.6).abs() < 0.02, "{top}");
        assert_eq!(report.cross_fitted_temperatures.len(), 10);
        let png = reliability_png(&report).expect("png");
        assert_eq!(&png[1..4], b"PNG");
    }

    #[test]
    fn a_calibrated_model_keeps_a_temperature_near_one() {
        let subjects: Vec<SubjectProbabilities> = (0..10).map(|_| overconfident(50, 0.8, 0.8)).collect();
        let report = calibrate_subjects(&subjects).expect("samples");
        assert!((report.temperature - 1.0).abs() < 0.1, "T {}", report.temperature);
        assert!(report.ece_uncalibrated < 1e-6);
        assert!(calibrate_subjects(&[]).is_none());
    }
}
