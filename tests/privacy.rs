//! Clinical data stays on the machine: Glimpse opens no network connection.
//! The analysis runs under `strace` (installed by scripts/setup.sh), which
//! logs every network system call of the process and its threads.
use std::path::Path;
use std::process::Command;

mod common;

/// Network system calls `strace -e trace=network` logged for `program args`.
fn network_calls(tag: &str, program: &str, args: &[&str]) -> Vec<String> {
    let dir = common::temp_dir(tag);
    let log = dir.join("network.log");
    let status = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=network", "-o"])
        .arg(&log)
        .arg(program)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("strace runs (scripts/setup.sh installs it)");
    assert!(status.status.success(), "{program} failed: {}", String::from_utf8_lossy(&status.stderr));
    let calls = std::fs::read_to_string(&log).expect("strace log").lines().map(str::to_string).collect();
    std::fs::remove_dir_all(&dir).expect("cleanup");
    calls
}

#[test]
fn an_analysis_with_its_exports_makes_no_network_call() {
    // The harness sees a connection attempt when there is one.
    let probe = network_calls("network-probe", "bash", &["-c", "exec 3<>/dev/tcp/127.0.0.1/9 || true"]);
    assert!(probe.iter().any(|l| l.contains("connect(")), "strace saw no network call of a probe that makes one");

    let out = common::temp_dir("network-analysis");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/astronaut-demo.mp4");
    let calls = network_calls(
        "network-glimpse",
        env!("CARGO_BIN_EXE_glimpse"),
        &[
            "--device",
            "cpu",
            "analyze",
            demo.to_str().expect("utf-8"),
            "--export",
            "all",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    );
    assert!(calls.is_empty(), "glimpse made network calls: {calls:?}");
    assert!(out.join("astronaut-demo.annotated.mp4").is_file());
    std::fs::remove_dir_all(&out).expect("cleanup");
}

/// Sharpness of a region: variance of its Laplacian (grey).
fn sharpness(image: &opencv::core::Mat, b: &glimpse::face::FaceBox) -> f64 {
    use opencv::core::{self, Mat, Rect};
    use opencv::imgproc;
    use opencv::prelude::*;
    let rect = Rect::new(b.x.max(0.0) as i32, b.y.max(0.0) as i32, b.width as i32, b.height as i32)
        & Rect::new(0, 0, image.cols(), image.rows());
    let region = Mat::roi(image, rect).expect("roi");
    let (mut grey, mut laplacian) = (Mat::default(), Mat::default());
    imgproc::cvt_color_def(&region, &mut grey, imgproc::COLOR_BGR2GRAY).expect("grey");
    imgproc::laplacian_def(&grey, &mut laplacian, core::CV_64F).expect("laplacian");
    let (mut mean, mut sd) = (core::Scalar::default(), core::Scalar::default());
    core::mean_std_dev_def(&laplacian, &mut mean, &mut sd).expect("std");
    sd[0] * sd[0]
}

#[test]
fn a_deidentified_export_names_no_one_and_hides_the_other_faces() {
    use opencv::prelude::*;
    use opencv::videoio;
    let dir = common::temp_dir("deidentify");
    let clip = dir.join("Jane Doe 2026-11-03.mp4");
    let glimpse = env!("CARGO_BIN_EXE_glimpse");
    let run = |args: &[&str]| {
        let out = Command::new(glimpse).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("runs");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let s = |p: &Path| p.to_str().expect("utf-8").to_string();
    run(&[
        "synth",
        "--out",
        &s(&clip),
        "--faces",
        "2",
        "--seconds",
        "6",
        "--events",
        "1",
        "--blinks",
        "1",
        "--seed",
        "5",
    ]);
    let out = dir.join("shared");
    run(&[
        "--device",
        "cpu",
        "analyze",
        &s(&clip),
        "--out",
        &s(&out),
        "--export",
        "all",
        "--deidentify",
        "--keep-face",
        "0",
    ]);

    let files: Vec<std::path::PathBuf> =
        std::fs::read_dir(&out).expect("out").map(|e| e.expect("entry").path()).collect();
    assert_eq!(files.len(), 6, "{files:?}");
    for file in &files {
        let name = file.file_name().expect("name").to_string_lossy().into_owned();
        assert!(name.starts_with("deid-"), "{name}");
        if name.ends_with(".mp4") {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("text export");
        for secret in ["Jane", "Doe", "2026", &s(&dir)] {
            assert!(!text.contains(secret), "{name} holds {secret:?}");
        }
    }
    let eaf = files.iter().find(|f| f.extension().is_some_and(|e| e == "eaf")).expect("eaf");
    assert!(std::fs::read_to_string(eaf).expect("eaf").contains("DATE=\"1970-01-01T00:00:00+00:00\""));

    // The video: face 1 pixelated in every frame it is in, face 0 as sharp as in the source.
    let ron = files.iter().find(|f| f.to_string_lossy().ends_with(".session.ron")).expect("ron");
    let session = glimpse::session::Session::load(ron).expect("load");
    assert!(session.deidentified && session.source.path.is_empty());
    let video = files.iter().find(|f| f.extension().is_some_and(|e| e == "mp4")).expect("video");
    let mut shared = videoio::VideoCapture::from_file(&s(video), videoio::CAP_FFMPEG).expect("open video");
    let mut source = videoio::VideoCapture::from_file(&s(&clip), videoio::CAP_FFMPEG).expect("open clip");
    let (mut a, mut b) = (opencv::core::Mat::default(), opencv::core::Mat::default());
    let mut checked = 0;
    for record in &session.frames {
        assert!(shared.read(&mut a).expect("read") && source.read(&mut b).expect("read"));
        if record.index % 10 != 5 {
            continue;
        }
        for face in &record.faces {
            let (hidden, original) = (sharpness(&a, &face.bbox), sharpness(&b, &face.bbox));
            if face.face_id == 1 {
                assert!(
                    hidden < 0.1 * original,
                    "frame {}: face 1 sharpness {hidden:.1} of {original:.1}",
                    record.index
                );
            } else {
                assert!(
                    hidden > 0.5 * original,
                    "frame {}: face 0 sharpness {hidden:.1} of {original:.1}",
                    record.index
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 16, "{checked} face views checked");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
