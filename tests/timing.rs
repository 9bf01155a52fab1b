//! Timestamps stay true to the source: after damage in the middle of a
//! file, and through the annotated video of a variable-frame-rate clip.
//! Each clip's frame `i` is a flat grey of level `LEVEL_STEP * i`, so a
//! decoded frame tells which source frame it is.
mod common;

use std::path::Path;

use glimpse::capture;
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

/// The source index a decoded frame shows.
fn source_index(image: &Mat) -> u32 {
    let mean = core::mean_def(image).expect("mean");
    ((mean[0] + mean[1] + mean[2]) / 3.0 / LEVEL_STEP).round() as u32
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

