//! Spotting that does not depend on the framing: the same synthetic events
//! (one seed, one face, the events' displacement scaled with the face so
//! the face moves alike in every clip) at face widths from 20 % to 90 % of
//! the frame, as rendered (MPEG-4 Part 2) and re-encoded to MJPEG and
//! H.264, through the whole pipeline.
//!
//! `every_framing_and_encoding_finds_the_same_events` keeps a subset in the
//! test suite; the ignored `framing_spotting_table` measures them all and
//! writes `reports/framing-spotting.json`:
//! `cargo test --release --test framing_spotting -- --ignored --nocapture`.
mod common;

use std::path::{Path, PathBuf};

use glimpse::capture;
use glimpse::pipeline::{analyze, AnalysisOptions, Progress};
use glimpse::spotting::SpottingOptions;
use glimpse::synth::score::{load_truth, score_session};
use glimpse::synth::{generate, truth_path, Framing, SynthSpec};
use opencv::core::Size;
use opencv::prelude::*;
use opencv::videoio;
use serde::Serialize;

/// The face width (fraction of the frame) the event amplitude is given at.
const REFERENCE_WIDTH: f64 = 0.35;
/// Peak displacement of every event at the reference width, canvas pixels.
const REFERENCE_AMPLITUDE_PX: f64 = 2.5;

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Encoding {
    /// As `glimpse synth` writes it: MPEG-4 Part 2 (`mp4v`).
    Mpeg4,
    /// Re-encoded to Motion JPEG (AVI), as many webcams record.
    Mjpeg,
    /// Re-encoded to H.264 (libx264 through OpenCV's FFmpeg), as phones,
    /// screen recorders and video platforms store it.
    H264,
}

fn spec(face_width: f64, seed: u64) -> SynthSpec {
    SynthSpec {
        width: 640,
        height: 480,
        fps: 30.0,
        seconds: 16.0,
        events_per_face: 4,
        blinks_per_face: 2,
        seed,
        amplitude_px: Some((REFERENCE_AMPLITUDE_PX * face_width / REFERENCE_WIDTH) as f32),
        framing: Framing { face_width: Some(face_width), face_center: Some((0.5, 0.5)), ..Framing::default() },
        ..SynthSpec::default()
    }
}

/// Decodes `from` and writes every frame to `to` with `fourcc`.
fn reencode(from: &Path, to: &Path, fourcc: [char; 4]) {
    let mut source = capture::open(from, None).unwrap_or_else(|e| panic!("{e}"));
    let info = source.info().clone();
    let code = videoio::VideoWriter::fourcc(fourcc[0], fourcc[1], fourcc[2], fourcc[3]).expect("fourcc");
    let size = Size::new(info.width, info.height);
    let mut writer =
        videoio::VideoWriter::new(&to.to_string_lossy(), code, info.nominal_fps, size, true).expect("video writer");
    assert!(writer.is_opened().expect("is_opened"), "no {fourcc:?} encoder for {}", to.display());
    while let Some(frame) = source.next_frame().unwrap_or_else(|e| panic!("{e}")) {
        writer.write(&frame.image).expect("write frame");
    }
    writer.release().expect("close writer");
}

/// The clip of `face_width` in `encoding` under `dir`, with its truth file.
fn clip(dir: &Path, face_width: f64, seed: u64, encoding: Encoding) -> PathBuf {
    let stem = format!("w{:02.0}-s{seed}", face_width * 100.0);
    let rendered = dir.join(format!("{stem}.mp4"));
    if !rendered.is_file() {
        generate(&spec(face_width, seed), &common::astronaut_path(), &rendered, &mut |_, _| {})
            .unwrap_or_else(|e| panic!("synth: {e}"));
    }
    let (path, fourcc) = match encoding {
        Encoding::Mpeg4 => return rendered,
        Encoding::Mjpeg => (dir.join(format!("{stem}-mjpeg.avi")), ['M', 'J', 'P', 'G']),
        Encoding::H264 => (dir.join(format!("{stem}-h264.mp4")), ['a', 'v', 'c', '1']),
    };
    reencode(&rendered, &path, fourcc);
    std::fs::copy(truth_path(&rendered), truth_path(&path)).expect("copy truth");
    path
}

#[derive(Debug, Serialize)]
struct Row {
    face_width: f64,
    encoding: Encoding,
    seed: u64,
    truth_events: usize,
    spotted: usize,
    hits: usize,
    false_events: usize,
    right_class: usize,
    /// Apex frames of the hits, in truth order (`None`: missed).
    hit_apexes: Vec<Option<f64>>,
}

fn measure(dir: &Path, face_width: f64, seed: u64, encoding: Encoding) -> Row {
    measure_with(dir, face_width, seed, encoding, AnalysisOptions::default())
}

fn measure_with(dir: &Path, face_width: f64, seed: u64, encoding: Encoding, options: AnalysisOptions) -> Row {
    let path = clip(dir, face_width, seed, encoding);
    let weights = Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/epir-megc2019.safetensors");
    let options = AnalysisOptions { weights: Some(weights), ..options };
    let analysis = analyze(&path, &options, tch::Device::Cpu, &mut |_: Progress| true)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let truth = load_truth(&truth_path(&path)).expect("truth");
    let scores = score_session(&truth, &analysis.session);
    let row = Row {
        face_width,
        encoding,
        seed,
        truth_events: truth.events.len(),
        spotted: analysis.session.events.len(),
        hits: scores.spotting.true_positives,
        false_events: scores.spotting.false_positives,
        right_class: scores.correct_class,
        hit_apexes: scores.outcomes.iter().map(|o| o.iou.map(|_| o.apex_s)).collect(),
    };
    eprintln!(
        "width {:.0} % {:?} seed {seed}: {} of {} found, {} false, {} right class",
        face_width * 100.0,
        encoding,
        row.hits,
        row.truth_events,
        row.false_events,
        row.right_class
    );
    row
}

/// The rule: hits within one of each other, no false events.
fn assert_framing_proof(rows: &[Row]) {
    let most = rows.iter().map(|r| r.hits).max().unwrap_or(0);
    let least = rows.iter().map(|r| r.hits).min().unwrap_or(0);
    assert!(most - least <= 1, "hits range {least}..{most}: {rows:#?}");
    assert!(rows.iter().all(|r| r.false_events == 0), "false events: {rows:#?}");
    assert!(least + 1 >= rows[0].truth_events, "most events should be found: {rows:#?}");
}

#[test]
fn every_framing_and_encoding_finds_the_same_events() {
    // The close-up (face at 60 % of the width: 3 of 4 events and
    // 3 false ones before) beside a small and a near-filling face, and the
    // close-up through both re-encodings.
    let dir = common::temp_dir("framing-spotting");
    let rows: Vec<Row> = [
        (0.2, Encoding::Mpeg4),
        (0.6, Encoding::Mpeg4),
        (0.9, Encoding::Mpeg4),
        (0.6, Encoding::Mjpeg),
        (0.6, Encoding::H264),
    ]
    .into_iter()
    .map(|(width, encoding)| measure(&dir, width, 21, encoding))
    .collect();
    assert_framing_proof(&rows);
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// The 20 % face of seed 21 through H.264, where codec flicker buries an
/// event, with the trailing baseline of a live session (3 of 4 found on
/// 2026-11-28): the mean of 5 crops finds all 4 with none false. With a
/// recorded file's centred baseline both find 3 (2026-12-07), so the test
/// pins the live case, where the mean still earns its place.
#[test]
fn a_frame_mean_steadies_a_small_face_through_h264() {
    let dir = common::temp_dir("framing-spotting-mean");
    let live = || AnalysisOptions { spotting: SpottingOptions::default(), ..Default::default() };
    let single = measure_with(&dir, 0.2, 21, Encoding::H264, live());
    let mean = measure_with(&dir, 0.2, 21, Encoding::H264, AnalysisOptions { spotting_frame_mean: 5, ..live() });
    assert!(mean.hits > single.hits, "mean of 5: {mean:#?}\nsingle frames: {single:#?}");
    assert_eq!(mean.false_events, 0, "{mean:#?}");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// On the 20 % face of seed 22 the flow sees only the middle of an event
/// (5 frames of its 12), so the measured span misses the truth by the
/// MEGC rule and counts as a miss and a false event; widened to the
/// shortest micro-expression (0.2 s) it is a hit (measured 2026-11-28:
/// 3 of 4 and 1 false measured, 4 of 4 and none false widened).
#[test]
fn a_small_faces_short_spans_are_widened_to_a_micro_expression() {
    let dir = common::temp_dir("framing-spotting-widen");
    let spotting = SpottingOptions { min_reported_s: 0.0, ..SpottingOptions::offline() };
    let measured = measure_with(&dir, 0.2, 22, Encoding::Mpeg4, AnalysisOptions { spotting, ..Default::default() });
    let widened = measure(&dir, 0.2, 22, Encoding::Mpeg4);
    assert!(widened.hits > measured.hits, "widened: {widened:#?}\nmeasured: {measured:#?}");
    assert!(widened.false_events < measured.false_events, "widened: {widened:#?}\nmeasured: {measured:#?}");
    assert_eq!((widened.hits, widened.false_events), (4, 0), "{widened:#?}");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
#[ignore]
fn framing_spotting_table() {
    let dir = common::temp_dir("framing-spotting-table");
    let mut rows = Vec::new();
    for seed in [21, 22] {
        let mut per_seed = Vec::new();
        for width in [0.2, 0.35, 0.5, 0.6, 0.75, 0.9] {
            for encoding in [Encoding::Mpeg4, Encoding::Mjpeg, Encoding::H264] {
                per_seed.push(measure(&dir, width, seed, encoding));
            }
        }
        rows.push(per_seed);
    }
    let report = serde_json::json!({
        "what": "one synthetic face (4 events, 2 blinks, head motion, noise; 16 s, 640x480, 30 fps) per seed at each face width and encoding, analysed with the default pipeline; events scaled with the face",
        "command": "cargo test --release --test framing_spotting -- --ignored --nocapture",
        "rows": rows.iter().flatten().collect::<Vec<_>>(),
    });
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/framing-spotting.json");
    glimpse::files::write_atomic(&out, serde_json::to_string_pretty(&report).expect("json").as_bytes())
        .expect("write report");
    std::fs::remove_dir_all(&dir).expect("cleanup");
    // What holds from half the frame's width up (measured 2026-12-07: the
    // 20 % face loses events to H.264, 2 of 4 on seed 22; see the README):
    // within one event of each other, and no false event that the 50 %
    // MPEG-4 clip lacks.
    for per_seed in &rows {
        let large: Vec<&Row> = per_seed.iter().filter(|r| r.face_width >= 0.5).collect();
        let reference = large[0].false_events;
        let most = large.iter().map(|r| r.hits).max().unwrap_or(0);
        let least = large.iter().map(|r| r.hits).min().unwrap_or(0);
        assert!(most - least <= 1, "hits range {least}..{most}: {large:#?}");
        assert!(large.iter().all(|r| r.false_events <= reference), "new false events: {large:#?}");
    }
}
