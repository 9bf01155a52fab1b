//! Hardening: inputs FFmpeg cannot decode, broken image folders, a disk
//! that fills up or a folder that cannot be written during export, and
//! batches over folders that resume where they stopped.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use glimpse::pipeline::{analyze, AnalysisOptions, Progress};
use opencv::core::{Mat, Scalar, Size, CV_8UC3};
use opencv::prelude::{VideoWriterTrait, VideoWriterTraitConst};
use opencv::videoio;

const DEMO: &str = "assets/demo/astronaut-demo.mp4";

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn options() -> AnalysisOptions {
    AnalysisOptions {
        weights: Some(manifest_dir().join("weights/epir-megc2019.safetensors")),
        ..AnalysisOptions::default()
    }
}

fn glimpse_in(prefix: &[&str], args: &[&str]) -> (Option<i32>, String, String) {
    let mut command = match prefix.split_first() {
        Some((program, rest)) => {
            let mut c = Command::new(program);
            c.args(rest).arg(env!("CARGO_BIN_EXE_glimpse"));
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_glimpse")),
    };
    let out = command.args(["--device", "cpu"]).args(args).current_dir(manifest_dir()).output().expect("run glimpse");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn glimpse(args: &[&str]) -> (Option<i32>, String, String) {
    glimpse_in(&[], args)
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Temporary files the atomic writes would leave if they failed badly.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().contains(".tmp")))
        .collect()
}

#[test]
fn a_codec_ffmpeg_cannot_decode_is_a_clear_error() {
    let dir = common::temp_dir("faults-codec");
    // An MJPG AVI whose codec tags are renamed to one no decoder has.
    let avi = dir.join("odd.avi");
    let fourcc = videoio::VideoWriter::fourcc('M', 'J', 'P', 'G').expect("fourcc");
    let mut writer = videoio::VideoWriter::new_with_backend(
        s(&avi),
        videoio::CAP_OPENCV_MJPEG,
        fourcc,
        30.0,
        Size::new(64, 48),
        true,
    )
    .expect("writer");
    assert!(writer.is_opened().expect("opened"));
    for _ in 0..10 {
        writer
            .write(&Mat::new_rows_cols_with_default(48, 64, CV_8UC3, Scalar::all(99.0)).expect("frame"))
            .expect("write");
    }
    writer.release().expect("release");
    let mut bytes = std::fs::read(&avi).expect("read");
    let mut renamed = 0;
    for i in 0..bytes.len().saturating_sub(4) {
        if &bytes[i..i + 4] == b"MJPG" {
            bytes[i..i + 4].copy_from_slice(b"QQ9Z");
            renamed += 1;
        }
    }
    assert!(renamed >= 1, "the AVI names its codec");
    std::fs::write(&avi, &bytes).expect("write");

    let err = analyze(&avi, &options(), tch::Device::Cpu, &mut |_: Progress| true).err().map(|e| e.to_string());
    let err = err.expect("an undecodable video is an error");
    assert!(err.contains("odd.avi") && err.contains("codec"), "{err}");
    let (code, _, stderr) = glimpse(&["analyze", s(&avi), "--out", s(&dir.join("out"))]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("odd.avi") && !stderr.contains("panicked"), "{stderr}");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn broken_image_folders_are_named_and_gaps_keep_their_time() {
    let dir = common::temp_dir("faults-folder");
    // A zero-byte frame in the middle: the analysis stops at it, naming it.
    let zero = dir.join("zero");
    for i in 0..6 {
        common::write_png(&zero.join(format!("img{i}.png")), 64, 48, [90.0, 90.0, 90.0]);
    }
    std::fs::write(zero.join("img3.png"), b"").expect("truncate");
    let with_fps = AnalysisOptions { folder_fps: Some(30.0), ..options() };
    let err = analyze(&zero, &with_fps, tch::Device::Cpu, &mut |_: Progress| true).err().map(|e| e.to_string());
    let err = err.expect("a zero-byte frame is an error");
    assert!(err.contains("img3.png") && err.contains("not a readable image"), "{err}");

    // Frames 4 and 5 missing: timestamps keep the gap, and a warning says so.
    let gaps = dir.join("gaps");
    for i in [1, 2, 3, 6, 7] {
        common::write_png(&gaps.join(format!("reg_img{i:03}.jpg")), 64, 48, [90.0, 90.0, 90.0]);
    }
    let session = analyze(&gaps, &with_fps, tch::Device::Cpu, &mut |_: Progress| true).expect("analyses").session;
    let times: Vec<f64> = session.frames.iter().map(|f| (f.timestamp_s * 30.0).round()).collect();
    assert_eq!(times, vec![0.0, 1.0, 2.0, 5.0, 6.0]);
    assert!(
        session.warnings.iter().any(|w| w.contains("2 frame numbers missing") && w.contains("reg_img003.jpg")),
        "{:?}",
        session.warnings
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// A full disk, simulated with a file-size limit (`prlimit --fsize`, which
/// needs no privileges): the export fails naming the file, the exports of
/// the earlier run stay intact, and no temporary file is left behind.
#[test]
fn a_full_disk_during_export_keeps_the_earlier_files_intact() {
    let dir = common::temp_dir("faults-full");
    let out = dir.join("out");
    let (code, _, stderr) = glimpse(&["analyze", DEMO, "--out", s(&out), "--export", "ron,csv"]);
    assert_eq!(code, Some(0), "{stderr}");
    let ron = out.join("astronaut-demo.session.ron");
    let csv = out.join("astronaut-demo.frames.csv");
    let before = (std::fs::read(&ron).expect("ron"), std::fs::read(&csv).expect("csv"));
    assert!(before.0.len() > 100_000, "the session is bigger than the limit below");

    // 64 KB: less than the session RON, more than anything else written.
    let (code, _, stderr) = glimpse_in(
        &["prlimit", "--fsize=65536"],
        &["analyze", DEMO, "--out", s(&out), "--export", "ron,csv", "--force"],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("astronaut-demo.session.ron") && stderr.contains("File too large"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(std::fs::read(&ron).expect("ron"), before.0, "the earlier session is intact");
    assert_eq!(std::fs::read(&csv).expect("csv"), before.1, "the earlier CSV is intact");
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn an_output_folder_that_cannot_be_written_is_named() {
    // Nothing can be created under /proc, not even by root.
    let (code, _, stderr) = glimpse(&["analyze", DEMO, "--out", "/proc/glimpse-out", "--export", "ron"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("/proc/glimpse-out/astronaut-demo.session.ron"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A folder of videos with one that is not a video: the good one is
/// analysed, the bad one named, the exit code says a file failed; run again,
/// the finished one is skipped; shards split the folder between processes.
#[test]
fn a_batch_over_a_folder_resumes_and_reports_failures() {
    let dir = common::temp_dir("faults-batch");
    let videos = dir.join("videos");
    std::fs::create_dir_all(&videos).expect("dir");
    std::fs::copy(manifest_dir().join(DEMO), videos.join("a.mp4")).expect("copy");
    std::fs::write(videos.join("b.mp4"), "not a video\n".repeat(40)).expect("write");
    let out = dir.join("out");
    let summary = dir.join("summary.json");
    let memory = dir.join("memory.csv");
    let args = ["analyze", s(&videos), "--out", s(&out), "--export", "ron", "--summary", s(&summary)];
    let mut with_memory = args.to_vec();
    with_memory.extend(["--memory-log", s(&memory), "--memory-every", "1"]);
    let (code, stdout, stderr) = glimpse(&with_memory);
    assert_eq!(code, Some(1), "one input failed: {stderr}");
    // The memory log: a row at least every second and one at the end of the input.
    let log = std::fs::read_to_string(&memory).expect("memory log");
    let rows: Vec<&str> = log.lines().collect();
    assert_eq!(rows[0], "wall_s,input,frames,media_s,rss_mib,peak_rss_mib,rust_heap_mib,c_heap_mib");
    assert!(rows.len() >= 3, "{log}");
    let last: Vec<&str> = rows[rows.len() - 1].split(',').collect();
    assert!(last[1].ends_with("a.mp4") && last[2] == "360", "{log}");
    let rss: f64 = last[4].parse().expect("a number");
    assert!(rss > 50.0 && rss < 2000.0, "{rss} MiB");
    // The split of it: Rust's heap is counted (a 12-s session is about 0.1
    // MiB; NaN would mean nothing counts), the C libraries (libtorch,
    // OpenCV) hold far more.
    let rust_heap: f64 = last[6].parse().expect("a number");
    let c_heap: f64 = last[7].parse().expect("a number");
    assert!(rust_heap > 0.0 && rust_heap < rss, "Rust heap {rust_heap} MiB of {rss}");
    assert!(c_heap > 10.0 * rust_heap, "C heap {c_heap} MiB against Rust's {rust_heap}");
    assert!(c_heap < rss, "C heap {c_heap} MiB of {rss}");
    assert!(stdout.contains("2 inputs: 1 analysed, 0 skipped (already done), 1 failed"), "{stdout}");
    assert!(stdout.contains("b.mp4: cannot be opened as a video"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary")).expect("json");
    assert_eq!(report[0]["status"], "analysed");
    assert_eq!(report[0]["frames"], 360);
    assert_eq!(report[1]["status"], "failed");

    // Resumed: the finished one is not analysed again.
    std::fs::remove_file(videos.join("b.mp4")).expect("remove the bad one");
    let (code, stdout, stderr) = glimpse(&args);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("1 inputs: 0 analysed, 1 skipped (already done), 0 failed"), "{stdout}");

    // Two shards of a list: each takes its own input.
    let list = dir.join("list.txt");
    std::fs::write(&list, format!("# two interviews\n{}\n{}\n", s(&videos.join("a.mp4")), s(&dir.join("c.mp4"))))
        .expect("list");
    let (_, _, stderr0) =
        glimpse(&["analyze", "--list", s(&list), "--shard", "0/2", "--out", s(&out), "--export", "ron"]);
    assert!(stderr0.contains("shard 0/2: 1 inputs") && stderr0.contains("skipping"), "{stderr0}");
    let (code1, _, stderr1) =
        glimpse(&["analyze", "--list", s(&list), "--shard", "1/2", "--out", s(&out), "--export", "ron"]);
    assert_eq!(code1, Some(1));
    assert!(stderr1.contains("c.mp4: no such file"), "{stderr1}");
    let (code, _, stderr) = glimpse(&["analyze", "--list", s(&list), "--shard", "2/2"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("--shard must be INDEX/COUNT"), "{stderr}");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// `glimpse analyze a b | head -1`: stdout closes after the first line.
/// Before, the next `println!` panicked on the broken pipe, so `a`'s
/// exports and all of `b` were lost. Frame names beyond ASCII
/// (`Kamera_ü000.png`) used to panic the folder reader too.
#[test]
fn a_closed_stdout_and_non_ascii_frame_names_do_not_stop_a_batch() {
    use std::process::Stdio;
    let dir = common::temp_dir("closed-stdout");
    let mut inputs = Vec::new();
    for name in ["a", "b"] {
        let folder = dir.join(name);
        for i in 0..6 {
            common::write_png(
                &folder.join(format!("Kamera_ü{i:03}.png")),
                64,
                48,
                [40.0 + 10.0 * i as f64, 90.0, 140.0],
            );
        }
        inputs.push(folder);
    }
    let out = dir.join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_glimpse"))
        .args(["--device", "cpu", "analyze", "--fps", "30", "--export", "csv", "--out"])
        .arg(&out)
        .args(&inputs)
        .current_dir(manifest_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run glimpse");
    // The reader goes away before glimpse writes a line.
    drop(child.stdout.take());
    let result = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(result.status.code(), Some(0), "{stderr}");
    for name in ["a", "b"] {
        assert!(out.join(format!("{name}.frames.csv")).is_file(), "{name}'s export is missing: {stderr}");
    }
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// A full disk while the annotated video is written: OpenCV's writer does
/// not report it, so before, a broken video replaced the good one with
/// exit 0 ("wrote …"), and later batch runs skipped it as done. The video is
/// now read back before it replaces anything.
#[test]
fn a_full_disk_during_the_video_export_keeps_the_earlier_video() {
    let dir = common::temp_dir("faults-full-video");
    let out = dir.join("out");
    let (code, _, stderr) = glimpse(&["analyze", DEMO, "--out", s(&out), "--export", "video"]);
    assert_eq!(code, Some(0), "{stderr}");
    let video = out.join("astronaut-demo.annotated.mp4");
    let before = std::fs::read(&video).expect("video");
    // H.264 (where FFmpeg has it): about 250 kB for the demo clip.
    assert!(before.len() > 200_000, "the video is bigger than the limit below ({} bytes)", before.len());
    let (code, _, stderr) = glimpse_in(
        &["prlimit", "--fsize=131072"],
        &["analyze", DEMO, "--out", s(&out), "--export", "video", "--force"],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("astronaut-demo.annotated.mp4") && !stderr.contains("panicked"), "{stderr}");
    assert_eq!(std::fs::read(&video).expect("video"), before, "the earlier video is intact");
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// A live recording on a full disk: OpenCV's writer hides the failed
/// writes, so before, `glimpse live` said "recorded N frames" with exit 0
/// and the file held a fraction of them. The recording is now read back:
/// the failure is reported, the exit status says so, the session is kept.
#[test]
fn a_live_recording_on_a_full_disk_is_reported_and_the_session_kept() {
    let dir = common::temp_dir("faults-live-full");
    let (code, _, stderr) = glimpse_in(
        &["prlimit", "--fsize=1048576"],
        &["live", "--file", DEMO, "--seconds", "6", "--out", s(&dir), "--name", "full"],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("full.avi") && stderr.contains("the recording failed"), "{stderr}");
    assert!(!stderr.contains("recorded ") && !stderr.contains("panicked"), "{stderr}");
    let session = glimpse::session::Session::load(&dir.join("full.session.ron")).expect("the session is kept");
    assert!(session.frames.len() > 100, "{} frames", session.frames.len());
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// `--out` naming a file is refused at once, before any analysis (before,
/// it was found only when the first export failed, after the whole run).
#[test]
fn an_out_that_is_a_file_is_refused_before_the_analysis() {
    let dir = common::temp_dir("faults-out-file");
    let file = dir.join("results.txt");
    std::fs::write(&file, b"notes").expect("write");
    let (code, _, stderr) = glimpse(&["analyze", DEMO, "--out", s(&file)]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("results.txt is a file, not a folder"), "{stderr}");
    assert!(!stderr.contains("analysing"), "the analysis ran first: {stderr}");
    assert_eq!(std::fs::read(&file).expect("read"), b"notes");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
