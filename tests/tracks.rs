//! Face tracks on scenes with motion, exits and shot cuts
//! (`glimpse::synth::scenes`), through the whole analysis: a track ends soon
//! after its face leaves, one face never has two boxes, a cut ends every
//! track and every spotting window, and an ID goes back only to the face
//! that had it.
//!
//! Each check prints its figures (`cargo test --test tracks -- --nocapture`)
//! before asserting, so the same file measures older code too.
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use glimpse::face::tracker::iou;
use glimpse::face::{FaceBox, FaceDescriptor, FaceDetector, Mtcnn, MtcnnOptions};
use glimpse::pipeline::cuts::{CutDetector, CutOptions, FrameChange};
use glimpse::pipeline::{analyze, AnalysisOptions, Progress};
use glimpse::session::Session;
use glimpse::synth::scenes::{presets, Scene, SceneSpec, SceneTruth};
use glimpse::synth::{load_astronaut, Synth, SynthSpec};
use opencv::core::Mat;
use opencv::imgproc;

fn options() -> AnalysisOptions {
    AnalysisOptions {
        weights: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/epir-megc2019.safetensors")),
        ..AnalysisOptions::default()
    }
}

fn scene(spec: &SceneSpec) -> Scene {
    let photo = load_astronaut(&common::astronaut_path()).expect("astronaut photo (make setup)");
    Scene::new(spec, &photo).expect("scene")
}

/// Renders `spec` to `<dir>/<name>.avi` and analyses it.
fn analyse_scene(spec: &SceneSpec, dir: &Path, name: &str) -> (SceneTruth, Session) {
    let scene = scene(spec);
    let clip: PathBuf = dir.join(format!("{name}.avi"));
    scene.write_avi(&clip).expect("write scene");
    let session = analyze(&clip, &options(), tch::Device::Cpu, &mut |_: Progress| true).expect("analysis").session;
    assert_eq!(session.frames.len() as u64, scene.truth.frames, "{name}: every frame analysed");
    (scene.truth, session)
}

/// For every reported box, the truth actor it is on: the nearest one whose
/// skin box centre is within 0.6 of its width of the box centre (a held box
/// trailing a moving face still counts as on it), as (frame, face id, actor).
fn box_owners(truth: &SceneTruth, session: &Session) -> Vec<(u64, u32, Option<usize>)> {
    let centre = |b: &FaceBox| (b.x + b.width / 2.0, b.y + b.height / 2.0);
    let mut out = Vec::new();
    for frame in &session.frames {
        for face in &frame.faces {
            let (fx, fy) = centre(&face.bbox);
            let owner = truth
                .actors
                .iter()
                .enumerate()
                .filter_map(|(a, actor)| {
                    let at = actor.frames.iter().find(|f| f.frame == frame.index)?;
                    let (ax, ay) = centre(&at.bbox);
                    let distance = (fx - ax).hypot(fy - ay) / at.bbox.width;
                    (distance <= 0.6 && at.visible > 0.0).then_some((distance, a))
                })
                .min_by(|x, y| x.0.total_cmp(&y.0))
                .map(|(_, a)| a);
            out.push((frame.index, face.face_id, owner));
        }
    }
    out
}

/// Frames where one actor has more than one box.
fn duplicate_frames(owners: &[(u64, u32, Option<usize>)]) -> usize {
    let mut per_frame: BTreeMap<(u64, usize), usize> = BTreeMap::new();
    for &(frame, _, owner) in owners {
        if let Some(a) = owner {
            *per_frame.entry((frame, a)).or_default() += 1;
        }
    }
    per_frame.values().filter(|&&n| n > 1).count()
}

#[test]
fn two_faces_crossing_keep_their_ids() {
    let dir = common::temp_dir("tracks-cross");
    let (truth, session) = analyse_scene(&presets::crossing(5.0), &dir, "crossing");
    let owners = box_owners(&truth, &session);
    let mut ids_of_actor: BTreeMap<usize, BTreeSet<u32>> = BTreeMap::new();
    let mut actors_of_id: BTreeMap<u32, BTreeSet<usize>> = BTreeMap::new();
    for &(_, id, owner) in &owners {
        if let Some(a) = owner {
            ids_of_actor.entry(a).or_default().insert(id);
            actors_of_id.entry(id).or_default().insert(a);
        }
    }
    if std::env::var_os("TRACKS_DEBUG").is_some() {
        for frame in &session.frames {
            let faces: Vec<String> = frame
                .faces
                .iter()
                .map(|f| {
                    let fresh = if f.detected { "*" } else { "" };
                    format!("{}{fresh} x{:.0} y{:.0} w{:.0}", f.face_id, f.bbox.x, f.bbox.y, f.bbox.width)
                })
                .collect();
            let actors: Vec<String> = truth
                .actors
                .iter()
                .filter_map(|a| a.frames.iter().find(|x| x.frame == frame.index))
                .map(|x| format!("x{:.0} y{:.0} w{:.0}", x.bbox.x, x.bbox.y, x.bbox.width))
                .collect();
            println!("{} {faces:?} truth {actors:?}", frame.index);
        }
    }
    let duplicates = duplicate_frames(&owners);
    let on_nothing = owners.iter().filter(|o| o.2.is_none()).count();
    println!(
        "crossing: ids per actor {ids_of_actor:?}; actors per id {actors_of_id:?}; frames with two boxes on one face \
         {duplicates}; boxes on no face {on_nothing}; session faces {:?}",
        session.face_ids()
    );
    assert_eq!(ids_of_actor.len(), 2, "both faces tracked");
    assert!(actors_of_id.values().all(|a| a.len() == 1), "an ID moved to the other face: {actors_of_id:?}");
    assert!(ids_of_actor.values().all(|ids| ids.len() == 1), "a face changed ID: {ids_of_actor:?}");
    assert_eq!(duplicates, 0);
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn a_cut_between_two_people_ends_tracks_and_spotting() {
    let dir = common::temp_dir("tracks-cut");
    let (truth, session) = analyse_scene(&presets::cut_between_two_people(5.0), &dir, "cut");
    let cut = truth.cuts[0];
    let fps = truth.fps;
    let ids_before: BTreeSet<u32> =
        session.frames.iter().filter(|f| f.index < cut).flat_map(|f| f.faces.iter().map(|x| x.face_id)).collect();
    let ids_after: BTreeSet<u32> =
        session.frames.iter().filter(|f| f.index >= cut).flat_map(|f| f.faces.iter().map(|x| x.face_id)).collect();
    let reused: Vec<&u32> = ids_before.intersection(&ids_after).collect();
    // Events spanning the cut, or starting within a reference gap of it
    // (motion across a cut is not an expression).
    let gap = (options().spotting.reference_gap_s * fps).round() as u64;
    let at_cut: Vec<(u64, u64)> = session
        .events
        .iter()
        .filter(|e| e.onset_frame <= cut + gap && e.offset_frame + 2 >= cut)
        .map(|e| (e.onset_frame, e.offset_frame))
        .collect();
    let truth_events: Vec<(u64, u64)> =
        truth.actors.iter().flat_map(|a| a.events.iter().map(|e| (e.onset_frame, e.offset_frame))).collect();
    let spotted: Vec<(u64, u64)> = session.events.iter().map(|e| (e.onset_frame, e.offset_frame)).collect();
    println!(
        "cut at frame {cut}: ids before {ids_before:?}, after {ids_after:?} (reused {reused:?}); events at the cut \
         {at_cut:?}; spotted {spotted:?}; truth {truth_events:?}"
    );
    assert!(!ids_before.is_empty() && !ids_after.is_empty(), "both people tracked");
    assert!(reused.is_empty(), "the second person took the first one's ID");
    assert!(at_cut.is_empty(), "events at the cut: {at_cut:?}");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn a_face_that_leaves_loses_its_box_and_gets_its_id_back() {
    let dir = common::temp_dir("tracks-leave");
    let (leave_s, away_s) = (2.5, 2.0);
    let (truth, session) = analyse_scene(&presets::leave_and_return(leave_s, away_s), &dir, "leave");
    let actor = &truth.actors[0];
    let fps = truth.fps;
    // Gone: the first frame after `leave_s` with less than half the face
    // in; back: the first frame after that with all of it in again.
    let gone = actor
        .frames
        .iter()
        .find(|f| f.frame as f64 / fps > leave_s && f.visible < 0.5)
        .map(|f| f.frame)
        .expect("the face leaves");
    let back = actor.frames.iter().find(|f| f.frame > gone && f.visible >= 0.5).map(|f| f.frame).expect("comes back");
    let last_box_while_away = session
        .frames
        .iter()
        .filter(|f| f.index >= gone && f.index < back && !f.faces.is_empty())
        .map(|f| f.index)
        .max();
    let outlived_s = last_box_while_away.map_or(0.0, |last| (last + 1 - gone) as f64 / fps);
    let ids = |range: std::ops::Range<u64>| -> BTreeSet<u32> {
        session
            .frames
            .iter()
            .filter(|f| range.contains(&f.index))
            .flat_map(|f| f.faces.iter().map(|x| x.face_id))
            .collect()
    };
    let before = ids(0..gone);
    let after = ids(back + (fps as u64) / 2..truth.frames);
    println!(
        "leave at frame {gone}, back at {back}: box outlived the face by {outlived_s:.2} s; ids before {before:?}, \
         after {after:?}, all {:?}",
        session.face_ids()
    );
    assert!(outlived_s <= 1.1, "a box stayed {outlived_s:.2} s on an empty frame");
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(after, before, "the face came back with another ID");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// Runs the cut detector over `frames` BGR frames from `frame(i)`; returns
/// the cut frames and the largest change seen on a frame that was not one.
fn cuts_in(frames: u64, fps: f64, frame: impl Fn(u64) -> Mat) -> (Vec<u64>, FrameChange) {
    let mut detector = CutDetector::new(CutOptions::default());
    let (mut cuts, mut largest) = (Vec::new(), FrameChange::default());
    for i in 0..frames {
        let mut grey = Mat::default();
        imgproc::cvt_color_def(&frame(i), &mut grey, imgproc::COLOR_BGR2GRAY).expect("grey");
        let change = detector.push(&grey, i as f64 / fps).expect("cut test");
        if change.cut {
            println!("cut at frame {i}: {change:?}");
            cuts.push(i);
        } else {
            largest.difference = largest.difference.max(change.difference);
            largest.histogram_distance = largest.histogram_distance.max(change.histogram_distance);
        }
    }
    (cuts, largest)
}

/// The evaluation clips' seeds (101–110, as `make eval-spotting`) have no
/// cuts: blinks, head motion, expressions and sensor noise must not make
/// one. Rendered in memory at 320x240 for 10 s each to stay quick; the
/// ignored test below runs the full 640x480 20-s mp4 clips.
#[test]
fn the_synthetic_clips_have_no_false_cuts() {
    let photo = load_astronaut(&common::astronaut_path()).expect("astronaut photo (make setup)");
    let mut false_cuts = 0;
    for seed in 101..=110 {
        let spec =
            SynthSpec { width: 320, height: 240, seconds: 10.0, events_per_face: 3, seed, ..SynthSpec::default() };
        let synth = Synth::new(&spec, &photo, "clip").expect("synth");
        let (cuts, largest) = cuts_in(synth.truth.frames, spec.fps, |i| synth.frame(i).expect("frame"));
        println!("seed {seed}: cuts {cuts:?}, largest change {largest:?}");
        false_cuts += cuts.len();
    }
    assert_eq!(false_cuts, 0);
    // And the scene with a cut: found at its first frame, nowhere else.
    let cut_scene = scene(&presets::cut_between_two_people(5.0));
    let (cuts, largest) = cuts_in(cut_scene.truth.frames, 30.0, |i| cut_scene.frame(i).expect("frame"));
    println!("cut scene: cuts {cuts:?} (truth {:?}), largest other change {largest:?}", cut_scene.truth.cuts);
    assert_eq!(cuts, cut_scene.truth.cuts);
    for spec in [presets::crossing(5.0), presets::leave_and_return(2.5, 2.0)] {
        let moving = scene(&spec);
        let (cuts, largest) = cuts_in(moving.truth.frames, 30.0, |i| moving.frame(i).expect("frame"));
        println!("moving scene: cuts {cuts:?}, largest change {largest:?}");
        assert!(cuts.is_empty(), "{cuts:?}");
    }
}

/// The false-cut count on the real evaluation clips (640x480, 20 s, seeds
/// 101–110, through mp4v and back as `make eval-spotting` makes them).
#[test]
#[ignore]
fn the_evaluation_clips_have_no_false_cuts() {
    use opencv::prelude::*;
    let dir = common::temp_dir("tracks-evalcuts");
    let mut false_cuts = 0;
    for seed in 101..=110 {
        let clip = dir.join(format!("clip{seed}.mp4"));
        let spec = SynthSpec { seconds: 20.0, seed, ..SynthSpec::default() };
        glimpse::synth::generate(&spec, &common::astronaut_path(), &clip, &mut |_, _| {}).expect("generate");
        let mut capture =
            opencv::videoio::VideoCapture::from_file(clip.to_str().expect("utf-8"), opencv::videoio::CAP_FFMPEG)
                .expect("open");
        let mut frames = Vec::new();
        let mut frame = Mat::default();
        while capture.read(&mut frame).expect("read") && !frame.empty() {
            frames.push(frame.clone());
        }
        let (cuts, largest) = cuts_in(frames.len() as u64, 30.0, |i| frames[i as usize].clone());
        println!("clip{seed}.mp4: {} frames, cuts {cuts:?}, largest change {largest:?}", frames.len());
        false_cuts += cuts.len();
    }
    println!("false cuts on the 10 evaluation clips: {false_cuts}");
    assert_eq!(false_cuts, 0);
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// Not a check: prints the appearance distances MTCNN's detections give on
/// the scenes, same person and other person, to set the thresholds from.
#[test]
#[ignore]
fn print_appearance_distances() {
    let mut mtcnn = Mtcnn::load(
        &common::resource(glimpse::resources::Resource::MtcnnModel),
        MtcnnOptions::default(),
        tch::Device::Cpu,
    )
    .expect("mtcnn");
    let mut views: Vec<(String, usize, FaceDescriptor)> = Vec::new();
    for (name, spec) in [
        ("crossing", presets::crossing(5.0)),
        ("cut", presets::cut_between_two_people(5.0)),
        ("leave", presets::leave_and_return(2.5, 2.0)),
    ] {
        let scene = scene(&spec);
        for i in (0..scene.truth.frames).step_by(12) {
            let frame = scene.frame(i).expect("frame");
            let mut grey = Mat::default();
            imgproc::cvt_color_def(&frame, &mut grey, imgproc::COLOR_BGR2GRAY).expect("grey");
            for d in mtcnn.detect(&frame).expect("detect") {
                let owner = scene.truth.actors.iter().position(|a| {
                    a.frames.iter().any(|f| f.frame == i && f.visible > 0.9 && iou(&f.bbox, &d.bbox) > 0.3)
                });
                let Some(owner) = owner else { continue };
                let identity = format!("{:?}", scene.truth.actors[owner].identity);
                if let Some(desc) = FaceDescriptor::from_face(&grey, &d.landmarks).expect("descriptor") {
                    views.push((format!("{name}/{identity}"), i as usize, desc));
                }
            }
        }
    }
    let mut same = (Vec::new(), Vec::new());
    let mut other = (Vec::new(), Vec::new());
    for (i, a) in views.iter().enumerate() {
        for b in &views[i + 1..] {
            let d = a.2.distance(&b.2);
            let same_person = a.0.split('/').nth(1) == b.0.split('/').nth(1);
            if same_person && d.texture.is_some_and(|t| t > 0.3) {
                println!("same person far apart: {} @{} vs {} @{}: {d:?}", a.0, a.1, b.0, b.1);
            }
            let bucket = if same_person { &mut same } else { &mut other };
            bucket.0.push(d.geometry);
            bucket.1.push(d.texture.unwrap_or(f32::NAN));
        }
    }
    let stats = |v: &mut Vec<f32>| {
        v.sort_by(f32::total_cmp);
        let q = |p: f64| v.get(((v.len() - 1) as f64 * p) as usize).copied().unwrap_or(f32::NAN);
        format!(
            "n {} min {:.3} p5 {:.3} p50 {:.3} p95 {:.3} max {:.3}",
            v.len(),
            q(0.0),
            q(0.05),
            q(0.5),
            q(0.95),
            q(1.0)
        )
    };
    println!("views {}", views.len());
    println!("same person  geometry {}", stats(&mut same.0));
    println!("same person  texture  {}", stats(&mut same.1));
    println!("other person geometry {}", stats(&mut other.0));
    println!("other person texture  {}", stats(&mut other.1));
}
