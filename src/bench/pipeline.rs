//! `glimpse bench pipeline VIDEO`: per-stage time of the analysis pipeline,
//! end-to-end speed against decoding alone on the same video in the same
//! run, and peak memory.
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::capture;
use crate::device::{configure_threads, ThreadUse};
use crate::pipeline::{analyze, AnalysisOptions, PipelineError, Progress, Stage};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StageCost {
    pub stage: String,
    pub median_ms: f32,
    pub p95_ms: f32,
    pub mean_ms: f32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PipelineBench {
    pub video: String,
    pub width: i32,
    pub height: i32,
    pub frames: u64,
    pub media_s: f64,
    pub device: String,
    pub detector: String,
    /// `mesh` or `detector` (see `AnalysisOptions::landmarks`).
    #[serde(default)]
    pub landmarks: String,
    pub stages: Vec<StageCost>,
    /// Median time of the face mesh per detected face, over the frames it
    /// ran on (it runs with the detector), ms.
    #[serde(default)]
    pub mesh_per_face_ms: Option<f32>,
    /// Decoding alone, frames per second.
    pub decode_only_fps: f64,
    pub end_to_end_fps: f64,
    /// Media seconds analysed per wall second.
    pub realtime_factor: f64,
    /// End-to-end throughput over decode-only throughput.
    pub relative_to_decode: f64,
    pub faces: usize,
    pub events: usize,
    pub peak_rss_mb: f64,
    /// `epir`, `mol` or `both` (reports before the choice: EPIR).
    #[serde(default)]
    pub classifier: String,
    /// MOL-lite's time per event (frames prepared and the forward pass),
    /// median and p95 ms over the events it ran on; `None` without MOL.
    #[serde(default)]
    pub mol_per_event_ms: Option<[f32; 2]>,
}

/// Decodes every frame and nothing else; frames per second.
pub fn decode_only_fps(path: &Path, folder_fps: Option<f64>) -> Result<(f64, u64), PipelineError> {
    let mut source = capture::open(path, folder_fps)?;
    let started = Instant::now();
    let mut frames = 0u64;
    while source.next_frame()?.is_some() {
        frames += 1;
    }
    Ok((frames as f64 / started.elapsed().as_secs_f64().max(1e-9), frames))
}

pub fn bench_pipeline(
    path: &Path,
    options: &AnalysisOptions,
    device: tch::Device,
) -> Result<PipelineBench, PipelineError> {
    let (decode_only_fps, _) = decode_only_fps(path, options.folder_fps)?;
    // The run sets its own thread's; this thread's, as the report describes
    // the device, must say the same.
    configure_threads(device, ThreadUse::Pipeline);
    let analysis = analyze(path, options, device, &mut |_: Progress| true)?;
    let s = &analysis.session;
    let stages = Stage::ALL
        .iter()
        .map(|&stage| {
            let (median_ms, p95_ms) = analysis.timings.summary(stage);
            StageCost { stage: stage.name().into(), median_ms, p95_ms, mean_ms: analysis.timings.mean(stage) }
        })
        .collect();
    let end_to_end_fps = s.source.frame_count as f64 / analysis.wall_s.max(1e-9);
    // One timing sample per analysed frame, in the session's frame order.
    let mut per_face: Vec<f32> = analysis
        .timings
        .samples(Stage::Mesh)
        .iter()
        .zip(&s.frames)
        .filter_map(|(&ms, frame)| {
            let faces = frame.faces.iter().filter(|f| f.detected).count();
            (ms > 0.0 && faces > 0).then(|| ms / faces as f32)
        })
        .collect();
    per_face.sort_by(f32::total_cmp);
    let mesh_per_face_ms = per_face.get(per_face.len() / 2).copied();
    Ok(PipelineBench {
        video: path.display().to_string(),
        width: s.source.width,
        height: s.source.height,
        frames: s.source.frame_count,
        media_s: s.source.duration_s,
        device: crate::device::describe(device),
        detector: format!("{:?}", options.detector).to_lowercase(),
        landmarks: format!("{:?}", options.landmarks).to_lowercase(),
        stages,
        mesh_per_face_ms,
        decode_only_fps,
        end_to_end_fps,
        realtime_factor: s.source.duration_s / analysis.wall_s.max(1e-9),
        relative_to_decode: end_to_end_fps / decode_only_fps.max(1e-9),
        faces: s.faces.len(),
        events: s.events.len(),
        peak_rss_mb: peak_rss_mb().unwrap_or(f64::NAN),
        classifier: options.classifier.name().to_string(),
        mol_per_event_ms: median_and_p95(&analysis.timings.mol_event_ms),
    })
}

fn median_and_p95(values: &[f32]) -> Option<[f32; 2]> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let at = |q: f32| sorted[((sorted.len() - 1) as f32 * q).round() as usize];
    (!sorted.is_empty()).then(|| [at(0.5), at(0.95)])
}

/// Peak resident memory of this process (VmHWM), MiB, where /proc has it.
pub fn peak_rss_mb() -> Option<f64> {
    proc_status_mb("VmHWM:")
}

/// Resident memory of this process now (VmRSS), MiB.
pub fn current_rss_mb() -> Option<f64> {
    proc_status_mb("VmRSS:")
}

fn proc_status_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub fn table(b: &PipelineBench) -> String {
    let mut out = format!(
        "{} ({}x{}, {} frames, {:.1} s) on {}, detector {}, landmarks {}\n\nstage        median ms    p95 ms   mean ms\n",
        b.video, b.width, b.height, b.frames, b.media_s, b.device, b.detector, b.landmarks
    );
    for s in &b.stages {
        out += &format!("{:<10} {:>10.2} {:>9.2} {:>9.2}\n", s.stage, s.median_ms, s.p95_ms, s.mean_ms);
    }
    if let Some(ms) = b.mesh_per_face_ms {
        out += &format!("(face mesh: {ms:.2} ms per detected face, median)\n");
    }
    if let Some([median, p95]) = b.mol_per_event_ms {
        out += &format!("(MOL-lite: {median:.1} ms per event median, {p95:.1} p95; classifier {})\n", b.classifier);
    }
    out += &format!(
        "\nend to end      {:.1} fps ({:.1}x real time)\ndecode only     {:.1} fps (end to end = {:.0} % of it)\npeak RSS        {:.0} MiB\nfaces {}, events {}",
        b.end_to_end_fps,
        b.realtime_factor,
        b.decode_only_fps,
        100.0 * b.relative_to_decode,
        b.peak_rss_mb,
        b.faces,
        b.events
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_is_read_from_proc() {
        let mb = peak_rss_mb().expect("VmHWM on Linux");
        assert!(mb > 1.0 && mb < 100_000.0, "{mb}");
        let now = current_rss_mb().expect("VmRSS on Linux");
        assert!(now > 1.0 && now <= mb + 1.0, "RSS {now} under its peak {mb}");
    }
}
