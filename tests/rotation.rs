//! Phone videos store the sensor's picture and a display matrix saying how
//! to turn it (MP4 `tkhd`); Glimpse must analyse the picture as it is shown.
//! The clips here are the demo clip stored turned, with the matrix a phone
//! writes for it, and must give the demo's faces and events.
mod common;

use std::path::{Path, PathBuf};

use glimpse::capture;
use glimpse::pipeline::{analyze, AnalysisOptions, Progress};
use opencv::core::{self, Mat, Size};
use opencv::prelude::*;
use opencv::videoio;

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/astronaut-demo.mp4")
}

/// 16.16 fixed point.
fn fixed(v: i32) -> u32 {
    (v << 16) as u32
}

/// Writes the demo clip with each frame turned by `stored` (how the
/// sensor's picture lies) and sets the track's display matrix to the one
/// that turns it back: the matrix a phone writes, `[a b u; c d v; x y w]`
/// with (a, b, c, d) the rotation FFmpeg reads as `atan2(b, a)` degrees
/// clockwise for display.
fn turned_clip(dir: &Path, name: &str, stored: Option<core::RotateFlags>, display: [i32; 4]) -> PathBuf {
    let path = dir.join(name);
    let mut source = capture::open(&demo(), None).expect("demo");
    let info = source.info().clone();
    let (w, h) = match stored {
        Some(core::RotateFlags::ROTATE_180) | None => (info.width, info.height),
        Some(_) => (info.height, info.width),
    };
    let code = videoio::VideoWriter::fourcc('m', 'p', '4', 'v').expect("fourcc");
    let mut writer = videoio::VideoWriter::new(&path.to_string_lossy(), code, info.nominal_fps, Size::new(w, h), true)
        .expect("writer");
    while let Some(frame) = source.next_frame().expect("decode") {
        let mut out = Mat::default();
        match stored {
            Some(flag) => core::rotate(&frame.image, &mut out, flag as i32).expect("rotate"),
            None => out = frame.image,
        }
        writer.write(&out).expect("write");
    }
    writer.release().expect("close");
    let mut bytes = std::fs::read(&path).expect("read back");
    let at = bytes.windows(4).position(|b| b == b"tkhd").expect("a tkhd box");
    assert_eq!(bytes[at + 4], 0, "version-0 tkhd");
    // After 'tkhd': version+flags, times, track id, reserved, duration,
    // reserved, layer, group, volume, reserved: 40 bytes, then the matrix.
    let matrix = at + 4 + 40;
    let [a, b, c, d] = display;
    let values = [fixed(a), fixed(b), 0, fixed(c), fixed(d), 0, 0, 0, 0x4000_0000];
    for (k, v) in values.iter().enumerate() {
        bytes[matrix + 4 * k..matrix + 4 * k + 4].copy_from_slice(&v.to_be_bytes());
    }
    std::fs::write(&path, bytes).expect("write patched");
    path
}

fn first_frame(path: &Path) -> Mat {
    capture::open(path, None).expect("open").next_frame().expect("decode").expect("a frame").image
}

fn mean_abs_diff(a: &Mat, b: &Mat) -> f64 {
    assert_eq!((a.cols(), a.rows()), (b.cols(), b.rows()), "frame sizes differ");
    let mut diff = Mat::default();
    core::absdiff(a, b, &mut diff).expect("absdiff");
    let m = core::mean_def(&diff).expect("mean");
    (m[0] + m[1] + m[2]) / 3.0
}

#[test]
fn rotated_phone_videos_are_read_as_shown() {
    let dir = common::temp_dir("rotation");
    let upright = first_frame(&demo());
    let cases = [
        // Portrait phone: the picture lies turned a quarter anticlockwise,
        // the matrix turns it a quarter clockwise.
        ("rot90.mp4", Some(core::RotateFlags::ROTATE_90_COUNTERCLOCKWISE), [0, 1, -1, 0]),
        ("rot180.mp4", Some(core::RotateFlags::ROTATE_180), [-1, 0, 0, -1]),
        ("rot270.mp4", Some(core::RotateFlags::ROTATE_90_CLOCKWISE), [0, -1, 1, 0]),
    ];
    for (name, stored, display) in cases {
        let clip = turned_clip(&dir, name, stored, display);
        let source = capture::open(&clip, None).expect("open");
        assert_eq!((source.info().width, source.info().height), (640, 480), "{name}: size as shown");
        let turned = source.warnings().iter().any(|w| w.contains("turned") && w.contains(name));
        assert!(turned, "{name}: the turn is said: {:?}", source.warnings());
        let frame = first_frame(&clip);
        // MPEG-4 at default quality: a few grey levels of coding noise;
        // the same picture turned the wrong way differs by tens.
        let diff = mean_abs_diff(&frame, &upright);
        assert!(diff < 6.0, "{name}: first frame differs from the upright demo by {diff:.1} grey levels");
    }
    // Through the whole pipeline: the demo's face and its four events.
    let weights = Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/epir-megc2019.safetensors");
    let options = AnalysisOptions { weights: Some(weights), ..AnalysisOptions::default() };
    let analysis = analyze(&dir.join("rot90.mp4"), &options, tch::Device::Cpu, &mut |_: Progress| true)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(analysis.session.faces.len(), 1, "{:?}", analysis.session.faces);
    assert_eq!(analysis.session.events.len(), 4, "{:?}", analysis.session.events);
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
