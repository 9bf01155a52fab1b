//! Timestamps stay true to the source: after damage in the middle of a
//! file, and through the annotated video of a variable-frame-rate clip.
//! Each clip's frame `i` is a flat grey of level `LEVEL_STEP * i`, so a
//! decoded frame tells which source frame it is.
mod common;

use std::path::Path;

use glimpse::capture;
use glimpse::pipeline::{analyze, AnalysisOptions, Progress};
use glimpse::session::export::write_annotated_video;
use opencv::core::{self, Mat, Scalar, Size, CV_8UC3};
use opencv::prelude::*;
use opencv::videoio;

const FPS: f64 = 30.0;
const FRAMES: u32 = 240;
const LEVEL_STEP: f64 = 1.0;

fn write_numbered_avi(path: &Path) {
    let code = videoio::VideoWriter::fourcc('M', 'J', 'P', 'G').expect("fourcc");
    let mut writer =
        videoio::VideoWriter::new(&path.to_string_lossy(), code, FPS, Size::new(160, 120), true).expect("writer");
    for i in 0..FRAMES {
        let level = LEVEL_STEP * f64::from(i);
        let frame = Mat::new_rows_cols_with_default(120, 160, CV_8UC3, Scalar::all(level)).expect("frame");
        writer.write(&frame).expect("write");
    }
    writer.release().expect("close");
}

/// The source index a decoded frame shows (read in its lower right
/// corner, clear of the overlays' text).
fn source_index(image: &Mat) -> u32 {
    let corner = Mat::roi(image, core::Rect::new(image.cols() - 40, image.rows() - 40, 40, 40)).expect("corner");
    let mean = core::mean_def(&corner).expect("mean");
    ((mean[0] + mean[1] + mean[2]) / 3.0 / LEVEL_STEP).round() as u32
}

fn u32_le(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Turns frames `dropped` of an MJPEG AVI into zero-length chunks, as a
/// variable-rate writer records a frame period with no new picture (the
/// chunk header and its index entry say 0 bytes).
fn drop_frames(path: &Path, dropped: std::ops::Range<usize>) {
    let mut bytes = std::fs::read(path).expect("read");
    let movi = bytes.windows(4).position(|w| w == b"movi").expect("movi list");
    let idx1 = bytes.windows(4).rposition(|w| w == b"idx1").expect("idx1 index");
    let entries = u32_le(&bytes[idx1 + 4..idx1 + 8]) as usize / 16;
    let mut frame = 0;
    for e in 0..entries {
        let at = idx1 + 8 + 16 * e;
        if &bytes[at..at + 4] != b"00dc" {
            continue;
        }
        if dropped.contains(&frame) {
            let offset = u32_le(&bytes[at + 8..at + 12]) as usize;
            bytes[at + 12..at + 16].fill(0);
            bytes[movi + offset + 4..movi + offset + 8].fill(0);
        }
        frame += 1;
    }
    std::fs::write(path, bytes).expect("write");
}

#[test]
fn damage_in_the_middle_of_an_avi_keeps_later_timestamps_true() {
    let dir = common::temp_dir("timing-avi");
    let clip = dir.join("damaged.avi");
    write_numbered_avi(&clip);
    // Zero a stretch in the middle: a few frames' data and chunk headers.
    let mut bytes = std::fs::read(&clip).expect("read");
    let (middle, stretch) = (bytes.len() / 2, bytes.len() / 12);
    bytes[middle..middle + stretch].fill(0);
    std::fs::write(&clip, &bytes).expect("damage");

    let mut source = capture::open(&clip, None).expect("open");
    let mut decoded = Vec::new();
    while let Some(frame) = source.next_frame().expect("decode") {
        decoded.push((frame.index, frame.timestamp_s, source_index(&frame.image)));
    }
    let missing = FRAMES as usize - decoded.len();
    assert!(missing >= 5, "the damage should cost frames: {} decoded", decoded.len());
    for (index, timestamp_s, shown) in &decoded {
        let truth = f64::from(*shown) / FPS;
        assert!(
            (timestamp_s - truth).abs() < 0.5 / FPS,
            "frame {index} shows source frame {shown} ({truth:.3} s) but is stamped {timestamp_s:.3} s"
        );
    }
    // The warning counts the frames that were lost.
    let warnings = source.warnings();
    let said = warnings.iter().any(|w| w.contains(&format!("{missing} frames")));
    assert!(said, "{missing} frames lost; warnings: {warnings:?}");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn a_variable_rate_clip_keeps_its_times_and_its_annotated_video_in_step() {
    let dir = common::temp_dir("timing-vfr");
    let clip = dir.join("vfr.avi");
    write_numbered_avi(&clip);
    // A one-second stall: frames 50-79 hold no new picture.
    drop_frames(&clip, 50..80);

    let mut source = capture::open(&clip, None).expect("open");
    let mut count = 0;
    while let Some(frame) = source.next_frame().expect("decode") {
        let shown = source_index(&frame.image);
        let truth = f64::from(shown) / FPS;
        assert!(
            (frame.timestamp_s - truth).abs() < 0.5 / FPS,
            "frame {} stamped {:.3} s, shows {shown}",
            frame.index,
            frame.timestamp_s
        );
        count += 1;
    }
    assert_eq!(count, FRAMES - 30);
    assert!(source.warnings().is_empty(), "dropped frames are no damage: {:?}", source.warnings());

    let weights = Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/epir-megc2019.safetensors");
    let options = AnalysisOptions { weights: Some(weights), ..AnalysisOptions::default() };
    let session = analyze(&clip, &options, tch::Device::Cpu, &mut |_: Progress| true).expect("analyse").session;
    let video = dir.join("vfr.annotated.avi");
    write_annotated_video(&session, &video, &mut |_, _| {}).expect("annotated video");
    // Each output frame j (at j / 30 s) shows the newest source frame at or
    // before its time: through the stall, frame 49.
    let mut capture = videoio::VideoCapture::from_file(&video.to_string_lossy(), videoio::CAP_FFMPEG).expect("open");
    let mut image = Mat::default();
    let mut j = 0u32;
    while capture.read(&mut image).expect("read") && !image.empty() {
        let expected = if (50..80).contains(&j) { 49 } else { j };
        assert_eq!(source_index(&image), expected, "output frame {j}");
        j += 1;
    }
    assert_eq!(j, FRAMES, "one output frame per period of the source");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
