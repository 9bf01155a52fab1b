//! Short clips as one event (`glimpse classify`): data-set-style folders of
//! tight grey face crops, onset to just past the apex, made with
//! `glimpse::synth` (the shared data has no frame sequences).
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use glimpse::pipeline::{classify_clip, AnalysisOptions, ApexBy, ClipEvent};
use glimpse::session::Session;
use glimpse::synth::{load_astronaut, Framing, Synth, SynthSpec, TruthEvent};
use opencv::core::Vector;
use opencv::imgcodecs;

/// Frame rate of the test clips: an onset→apex rise of 0.10–0.26 s is 6–16
/// frames at 60 fps, so a clip is 9–19 frames.
const FPS: f64 = 60.0;
/// Frames kept after the apex (data sets' onset→apex crops often end a few
/// frames past it).
const AFTER_APEX: u64 = 3;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn weights() -> PathBuf {
    manifest_dir().join("weights/epir-megc2019.safetensors")
}

/// Writes each event of a synthetic tight grey crop clip (280x340, still
/// head, no blinks) as a folder of its frames from onset to apex +
/// `AFTER_APEX`, named by their frame number as CASME II names them
/// (`img46.png`); returns the folders with their events.
fn clip_folders(dir: &Path, events: u32) -> Vec<(PathBuf, TruthEvent)> {
    let spec = SynthSpec {
        width: 280,
        height: 340,
        fps: FPS,
        seconds: 1.5 + 1.5 * f64::from(events),
        events_per_face: events,
        blinks_per_face: 0,
        head_motion_px: 0.0,
        amplitude_px: Some(2.5),
        seed: 3,
        framing: Framing { tight_crop: true, grey: true, ..Framing::default() },
        ..SynthSpec::default()
    };
    let photo = load_astronaut(&common::astronaut_path()).unwrap_or_else(|e| panic!("{e}"));
    let synth = Synth::new(&spec, &photo, "clips").unwrap_or_else(|e| panic!("synth: {e}"));
    let mut folders = Vec::new();
    for (n, event) in synth.truth.events.iter().enumerate() {
        let folder = dir.join(format!("clip{}_{}", n + 1, event.class_name));
        std::fs::create_dir_all(&folder).expect("clip folder");
        for index in event.onset_frame..=event.apex_frame + AFTER_APEX {
            let frame = synth.frame(index).expect("render frame");
            let path = folder.join(format!("img{index}.png"));
            assert!(imgcodecs::imwrite(path.to_str().expect("utf-8"), &frame, &Vector::new()).expect("imwrite"));
        }
        folders.push((folder, event.clone()));
    }
    folders
}

fn glimpse(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_glimpse"))
        .args(["--device", "cpu"])
        .args(args)
        .current_dir(manifest_dir())
        .output()
        .expect("run glimpse");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn text(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn a_short_clip_of_tight_grey_crops_is_one_event_with_its_apex_at_the_peak_of_motion() {
    let dir = common::temp_dir("classify-one");
    let (folder, truth) = clip_folders(&dir, 1).remove(0);
    let frames = truth.apex_frame + AFTER_APEX - truth.onset_frame + 1;
    assert!((9..=19).contains(&frames), "{frames} frames");
    let options = AnalysisOptions { weights: Some(weights()), folder_fps: Some(FPS), ..AnalysisOptions::default() };
    let clip = classify_clip(&folder, &options, ClipEvent::default(), tch::Device::Cpu)
        .unwrap_or_else(|e| panic!("classifying {}: {e}", folder.display()));
    let session = &clip.session;
    assert_eq!(session.source.frame_count, frames);
    assert_eq!(session.events.len(), 1, "{:?}", session.events);
    let event = &session.events[0];
    let true_apex = truth.apex_frame - truth.onset_frame;
    eprintln!(
        "{frames} frames, true apex {true_apex}, found {}; motion from onset {:?}; class {} (true {}), p {:?}",
        event.apex_frame, clip.motion_from_onset, event.class, truth.class, event.probabilities
    );
    assert_eq!((event.onset_frame, event.offset_frame), (0, frames - 1));
    assert_eq!(clip.apex_by, ApexBy::PeakMotion);
    assert!(event.apex_frame.abs_diff(true_apex) <= 1, "apex {} against the true {true_apex}", event.apex_frame);
    assert_eq!(event.probabilities.len(), 3);
    let sum: f32 = event.probabilities.iter().sum();
    assert!((sum - 1.0).abs() < 1e-4, "probabilities sum to {sum}");
    assert_eq!(event.probabilities[event.class], event.probabilities.iter().copied().fold(0.0, f32::max));
    // The heatmap: attention over the patch grid, and the crop it covers.
    assert_eq!(event.attention.len(), event.attention_rows * event.attention_cols);
    assert!(event.attention_rows > 0 && event.attention_crop.is_some());
    // The onset-relative motion rises to the apex from nothing.
    let motion = &clip.motion_from_onset;
    assert_eq!(motion[0], None);
    let at_apex = motion[event.apex_frame as usize].expect("motion at the apex");
    let first = motion[1].expect("motion at frame 1");
    assert!(at_apex > 3.0 * first && at_apex > 0.2, "motion at frame 1 {first}, at the apex {at_apex}");
    assert!(session.settings.contains(&("apex_by".to_string(), "peak_motion".to_string())));
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn onset_and_apex_given_are_honoured_and_bad_ones_refused_by_name() {
    let dir = common::temp_dir("classify-given");
    let (folder, _) = clip_folders(&dir, 1).remove(0);
    let frames = std::fs::read_dir(&folder).expect("list").count();
    let out = dir.join("out");
    let (ok, stdout, err) = glimpse(&[
        "classify",
        text(&folder),
        "--fps",
        "60",
        "--onset",
        "1",
        "--apex",
        "5",
        "--out",
        text(&out),
        "--export",
        "ron,intervals,eaf",
    ]);
    assert!(ok, "{err}");
    assert!(stdout.contains("onset 1, apex 5 (given)"), "{stdout}");
    let stem = folder.file_name().expect("name").to_string_lossy().into_owned();
    let session = Session::load(&out.join(format!("{stem}.session.ron"))).expect("session");
    let event = &session.events[0];
    assert_eq!((event.onset_frame, event.apex_frame, event.offset_frame), (1, 5, frames as u64 - 1));
    assert!(session.settings.contains(&("apex_by".to_string(), "given".to_string())));
    let intervals = std::fs::read_to_string(out.join(format!("{stem}.intervals.csv"))).expect("intervals");
    assert_eq!(intervals.lines().count(), 2, "{intervals}");
    assert!(out.join(format!("{stem}.eaf")).is_file());

    // Outputs are never replaced without --force: the clip is skipped.
    let (ok, _, err) = glimpse(&["classify", text(&folder), "--fps", "60", "--out", text(&out), "--export", "ron"]);
    assert!(ok && err.contains("skipping") && err.contains("--force"), "{err}");

    let name = folder.display().to_string();
    let last = frames - 1;
    let cases: [(&[&str], String); 4] = [
        (&["--onset", "4", "--apex", "2"], "the apex (frame 2) must come after the onset (frame 4)".into()),
        (&["--apex", "99"], format!("the apex (frame 99) is past the last frame ({last};")),
        (&["--onset", &last.to_string()], format!("the onset (frame {last}) must be before the last frame")),
        (&["--onset", "3", "--apex", "3"], "must come after the onset".into()),
    ];
    for (flags, needle) in &cases {
        let mut args = vec!["classify", text(&folder), "--fps", "60", "--export", "ron"];
        args.extend_from_slice(flags);
        let (ok, _, err) = glimpse(&args);
        assert!(!ok, "{flags:?} was accepted");
        assert!(err.contains(needle.as_str()) && err.contains(&name) && !err.contains("panicked"), "{flags:?}: {err}");
    }

    // A folder of one frame, and one without a face.
    let single = dir.join("single");
    std::fs::create_dir_all(&single).expect("dir");
    std::fs::copy(
        folder.read_dir().expect("list").next().expect("a frame").expect("entry").path(),
        single.join("img1.png"),
    )
    .expect("copy");
    let (ok, _, err) = glimpse(&["classify", text(&single), "--fps", "60", "--export", "ron"]);
    assert!(!ok && err.contains("single: 1 frame(s): an event needs at least two"), "{err}");
    let blank = dir.join("blank");
    for i in 0..4 {
        common::write_png(&blank.join(format!("img{i}.png")), 280, 340, [128.0, 128.0, 128.0]);
    }
    let (ok, _, err) = glimpse(&["classify", text(&blank), "--fps", "60", "--export", "ron"]);
    assert!(!ok && err.contains("blank: no face found in its 4 frames"), "{err}");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn a_folder_of_clip_folders_gives_one_summary_csv() {
    let dir = common::temp_dir("classify-many");
    let data = dir.join("data");
    let clips = clip_folders(&data, 3);
    let out = dir.join("out");
    let (ok, stdout, err) = glimpse(&["classify", text(&data), "--fps", "60", "--out", text(&out), "--export", "ron"]);
    assert!(ok, "{err}");
    assert!(stdout.contains("3 clips: 3 classified, 0 skipped"), "{stdout}");
    let csv = std::fs::read_to_string(out.join("summary.csv")).expect("summary.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "clip,frames,onset,apex,apex_by,class,p_negative,p_positive,p_surprise,status,path,error");
    assert_eq!(lines.len(), 4, "{csv}");
    for ((folder, truth), line) in clips.iter().zip(&lines[1..]) {
        let cells: Vec<&str> = line.split(',').collect();
        let frames = truth.apex_frame + AFTER_APEX - truth.onset_frame + 1;
        assert_eq!(cells[0], folder.file_name().expect("name").to_string_lossy());
        assert_eq!(cells[1..3], [frames.to_string().as_str(), "0"], "{line}");
        let apex: u64 = cells[3].parse().expect("apex");
        assert!(apex.abs_diff(truth.apex_frame - truth.onset_frame) <= 1, "{line}");
        assert_eq!(cells[4], "peak_motion");
        let p: f32 = cells[6..9].iter().map(|c| c.parse::<f32>().expect("probability")).sum();
        assert!((p - 1.0).abs() < 1e-3, "{line}");
        assert_eq!(cells[9], "classified");
        assert!(out.join(format!("{}.session.ron", cells[0])).is_file());
    }
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
