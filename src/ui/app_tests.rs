//! The whole window driven through egui_kittest: unsaved review work is
//! never thrown away without asking (opening another file, closing), it is
//! autosaved as it is made, and a re-analysis carries verdicts over.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;

use super::*;
use crate::session::{Event, ReviewStatus};

struct Window {
    app: Option<GlimpseApp>,
    frame: eframe::Frame,
}

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo/astronaut-demo.mp4");

fn window(scratch: &Path) -> Harness<'static, Window> {
    let mut harness = Harness::builder().with_size(egui::vec2(1280.0, 800.0)).build_ui_state(
        |ui, window: &mut Window| {
            if let Some(app) = &mut window.app {
                eframe::App::logic(app, &ui.ctx().clone(), &mut window.frame);
                eframe::App::ui(app, ui, &mut window.frame);
            }
        },
        Window { app: None, frame: eframe::Frame::_new_kittest() },
    );
    let options = AnalysisOptions {
        weights: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/epir-megc2019.safetensors")),
        ..AnalysisOptions::default()
    };
    let launch = AppLaunch { options, live_dir: Some(scratch.join("live")), ..AppLaunch::default() };
    let mut app = GlimpseApp::new(&harness.ctx.clone(), launch);
    // Nothing of the tester's own settings or autosaves is touched.
    app.settings_path = None;
    app.autosave = ReviewAutosave::new(Some(scratch.join("autosave")));
    harness.state_mut().app = Some(app);
    harness.run_steps(2);
    harness
}

fn app<'h>(harness: &'h mut Harness<'static, Window>) -> &'h mut GlimpseApp {
    harness.state_mut().app.as_mut().expect("the app")
}

/// A copy of the demo clip and a session of two events on it, in `dir`
/// (saves go beside the video).
fn video_and_session(dir: &Path) -> (PathBuf, PathBuf) {
    let video = dir.join("interview.mp4");
    std::fs::copy(DEMO, &video).expect("copy the demo clip");
    let event = |id, onset: u64| Event {
        probabilities: vec![0.2, 0.3, 0.5],
        class: 2,
        ..Event::at_frames(id, 1, [onset, onset + 5, onset + 12], 30.0)
    };
    let session = Session {
        source: crate::session::SourceMeta {
            path: video.display().to_string(),
            nominal_fps: 30.0,
            measured_fps: 30.0,
            frame_count: 360,
            ..Default::default()
        },
        class_names: vec!["negative".into(), "positive".into(), "surprise".into()],
        events: vec![event(1, 60), event(2, 200)],
        complete: true,
        ..Session::default()
    };
    let path = dir.join("interview.session.ron");
    session.save_ron(&path).expect("save the session");
    (video, path)
}

/// Steps the window until `done` holds (or fails after `limit`).
fn step_until(harness: &mut Harness<'static, Window>, limit: Duration, done: impl Fn(&GlimpseApp) -> bool) {
    let start = Instant::now();
    while !done(harness.state().app.as_ref().expect("the app")) {
        assert!(start.elapsed() < limit, "timed out");
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn close_commands(harness: &Harness<'static, Window>) -> Vec<egui::ViewportCommand> {
    harness
        .output()
        .viewport_output
        .get(&egui::ViewportId::ROOT)
        .map(|v| v.commands.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|c| matches!(c, egui::ViewportCommand::Close | egui::ViewportCommand::CancelClose))
        .collect()
}

#[test]
fn unsaved_reviews_are_asked_about_autosaved_and_saved_before_closing() {
    let scratch = crate::files::scratch_dir("app-unsaved");
    let (video, session_path) = video_and_session(&scratch);
    let mut harness = window(&scratch);
    app(&mut harness).open_path(&session_path);
    harness.run_steps(3);
    assert!(!app(&mut harness).has_unsaved_reviews());

    // Nothing reviewed: closing goes through at once.
    harness.input_mut().viewports.entry(egui::ViewportId::ROOT).or_default().events.push(egui::ViewportEvent::Close);
    harness.step();
    assert!(close_commands(&harness).is_empty(), "a clean window was kept open");
    assert!(app(&mut harness).question.is_none());

    harness.get_all_by_label("Confirm").next().expect("a Confirm button").click();
    harness.run_steps(2);
    assert!(app(&mut harness).has_unsaved_reviews());

    // The verdict reaches the autosave once the edits settle (2 s).
    let autosave_file = crate::ui::autosave::autosave_path(&scratch.join("autosave"), &video.display().to_string());
    step_until(&mut harness, Duration::from_secs(10), |_| autosave_file.exists());
    let autosaved: crate::ui::autosave::AutosavedReviews =
        ron::from_str(&std::fs::read_to_string(&autosave_file).expect("read the autosave")).expect("parse it");
    assert_eq!(autosaved.events.len(), 1);
    assert_eq!((autosaved.events[0].id, autosaved.events[0].review.status), (1, ReviewStatus::Confirmed));

    // Opening another file asks; Cancel keeps everything.
    app(&mut harness).open_path(Path::new(DEMO));
    harness.run_steps(2);
    assert!(matches!(app(&mut harness).question, Some(Question::Unsaved(Replacing::Open(_)))));
    harness.get_by_label("Discard");
    harness.get_by_label("Cancel").click();
    harness.run_steps(2);
    let app_now = app(&mut harness);
    assert!(app_now.question.is_none());
    let session = app_now.doc.session.as_ref().expect("the session is still open");
    assert_eq!(session.events[0].review.status, ReviewStatus::Confirmed);
    assert_eq!(session.source.path, video.display().to_string());

    // Closing the window is held, and asked about.
    harness.input_mut().viewports.entry(egui::ViewportId::ROOT).or_default().events.push(egui::ViewportEvent::Close);
    harness.step();
    assert_eq!(close_commands(&harness), vec![egui::ViewportCommand::CancelClose]);
    harness.run_steps(2);
    harness.get_by_label("Unsaved review edits");
    // Save: the session is written beside the video, then the window closes.
    harness.get_by_label("Save").click();
    let saved_path = scratch.join("interview.session.ron");
    let before = std::fs::metadata(&saved_path).expect("meta").modified().expect("mtime");
    let mut closed = false;
    let start = Instant::now();
    while !closed {
        assert!(start.elapsed() < Duration::from_secs(20), "the save and close never came");
        harness.step();
        closed = close_commands(&harness).contains(&egui::ViewportCommand::Close);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(std::fs::metadata(&saved_path).expect("meta").modified().expect("mtime") >= before);
    let saved = Session::load(&saved_path).expect("load the saved session");
    assert_eq!(saved.events[0].review.status, ReviewStatus::Confirmed);
    assert!(!autosave_file.exists(), "the autosave outlived the save");
    let _ = std::fs::remove_dir_all(scratch);
}

#[test]
fn discarding_opens_the_other_file_and_an_autosave_comes_back_after_a_crash() {
    let scratch = crate::files::scratch_dir("app-discard");
    let (video, session_path) = video_and_session(&scratch);
    let autosave_file = crate::ui::autosave::autosave_path(&scratch.join("autosave"), &video.display().to_string());

    // A first window: a rejection and a note, autosaved, then the window dies.
    {
        let mut harness = window(&scratch);
        app(&mut harness).open_path(&session_path);
        harness.run_steps(3);
        harness.get_all_by_label("Reject").nth(1).expect("the second event's Reject").click();
        harness.run_steps(2);
        step_until(&mut harness, Duration::from_secs(10), |_| autosave_file.exists());
    }

    // A second window opens the same session: the verdict is back, unsaved.
    let mut harness = window(&scratch);
    app(&mut harness).open_path(&session_path);
    harness.run_steps(3);
    let app_now = app(&mut harness);
    assert!(app_now.has_unsaved_reviews());
    let session = app_now.doc.session.as_ref().expect("session");
    assert_eq!(session.events[1].review.status, ReviewStatus::Rejected);
    assert_eq!(session.events[0].review.status, ReviewStatus::Candidate);

    // Discard: the other file opens and the autosave is gone.
    let other = scratch.join("other.mp4");
    std::fs::copy(DEMO, &other).expect("copy");
    app(&mut harness).open_path(&other);
    harness.run_steps(2);
    harness.get_by_label("Discard").click();
    harness.run_steps(2);
    let app_now = app(&mut harness);
    assert!(app_now.question.is_none());
    assert!(!app_now.doc.dirty);
    let Mode::Review(review) = &app_now.mode else { panic!("not reviewing") };
    assert_eq!(review.video.as_ref().map(|v| v.path.clone()), Some(other));
    assert!(!autosave_file.exists(), "a discarded autosave came back");
    if let Mode::Review(ReviewMode { analysis: Some(analysis), .. }) = &app_now.mode {
        analysis.run.cancel();
    }
    let _ = std::fs::remove_dir_all(scratch);
}

#[test]
fn reanalysing_warns_and_carries_every_verdict_over() {
    let _heavy = crate::pipeline::live_run::testing::one_heavy_test_at_a_time();
    let scratch = crate::files::scratch_dir("app-reanalyse");
    let video = scratch.join("clip.mp4");
    std::fs::copy(DEMO, &video).expect("copy the demo clip");
    let mut harness = window(&scratch);
    app(&mut harness).open_path(&video);
    let analysed = |app: &GlimpseApp| {
        matches!(&app.mode, Mode::Review(r) if r.analysis.is_none())
            && app.doc.session.as_ref().is_some_and(|s| s.complete)
    };
    step_until(&mut harness, Duration::from_secs(120), analysed);
    let first = app(&mut harness).doc.session.clone().expect("session");
    assert!(first.events.len() >= 2, "the demo clip has 4 events, found {}", first.events.len());

    // Confirm the first event with a note, reject the second, and add a
    // reviewed event where the analysis finds nothing (as one found at
    // another sensitivity would be).
    let (first_id, second_id) = (first.events[0].id, first.events[1].id);
    {
        let doc = &mut app(&mut harness).doc;
        let session = doc.session.as_mut().expect("session");
        session.events[0].review =
            crate::session::Review { status: ReviewStatus::Confirmed, note: "brows".into(), ..Default::default() };
        session.events[1].review.status = ReviewStatus::Rejected;
        let face_id = session.events[0].face_id;
        session.events.push(Event {
            id: 99,
            face_id,
            onset_frame: 2,
            apex_frame: 4,
            offset_frame: 6,
            review: crate::session::Review { status: ReviewStatus::Confirmed, ..Default::default() },
            ..Event::default()
        });
        doc.dirty = true;
    }
    app(&mut harness).on_menu(MenuAction::Reanalyse);
    harness.run_steps(2);
    assert_eq!(app(&mut harness).question, Some(Question::Reanalyse { reviewed: 3 }));
    harness.get_by_label("Re-analyse").click();
    harness.run_steps(2);
    step_until(&mut harness, Duration::from_secs(120), analysed);

    let app_now = app(&mut harness);
    assert!(app_now.doc.dirty, "the carried verdicts are not saved yet");
    let again = app_now.doc.session.as_ref().expect("session");
    let verdict = |id: u32| first.events.iter().find(|e| e.id == id).expect("event");
    let matching = |old: &Event| {
        again.events.iter().find(|e| e.face_id == old.face_id && e.onset_frame <= old.offset_frame && old.onset_frame <= e.offset_frame)
    };
    let confirmed = matching(verdict(first_id)).expect("the confirmed event is found again");
    assert_eq!(confirmed.review.status, ReviewStatus::Confirmed);
    assert_eq!(confirmed.review.note, "brows");
    assert_eq!(matching(verdict(second_id)).expect("found again").review.status, ReviewStatus::Rejected);
    assert_eq!(again.reviewed_not_spotted.len(), 1);
    assert_eq!(again.reviewed_not_spotted[0].id, 99);
    harness.run_steps(2);
    harness.get_by_label("Reviewed, no longer spotted (1)");
    let _ = std::fs::remove_dir_all(scratch);
}

/// A data set's clip as a folder (`img<N>.png`, CASME II's naming): the
/// frames of one synthetic expression on a tight grey face crop, from its
/// onset to 3 frames past its apex. Returns the folder, its frame count and
/// the true apex (from the clip's first frame).
fn short_clip_folder(dir: &Path) -> (PathBuf, u64, u64) {
    use crate::synth::{load_astronaut, Framing, Synth, SynthSpec};
    let spec = SynthSpec {
        width: 280,
        height: 340,
        fps: 60.0,
        seconds: 3.0,
        events_per_face: 1,
        blinks_per_face: 0,
        head_motion_px: 0.0,
        amplitude_px: Some(2.5),
        seed: 3,
        framing: Framing { tight_crop: true, grey: true, ..Framing::default() },
        ..SynthSpec::default()
    };
    let astronaut = crate::resources::locate(crate::resources::Resource::AstronautPhoto).expect("the astronaut photo");
    let photo = load_astronaut(&astronaut).expect("load the photo");
    let synth = Synth::new(&spec, &photo, "clip").expect("synth");
    let event = synth.truth.events.first().expect("an event").clone();
    let folder = dir.join("EP01_clip");
    std::fs::create_dir_all(&folder).expect("clip folder");
    let last = event.apex_frame + 3;
    for index in event.onset_frame..=last {
        let frame = synth.frame(index).expect("render a frame");
        let path = folder.join(format!("img{index}.png"));
        let written = opencv::imgcodecs::imwrite(path.to_str().expect("utf-8"), &frame, &opencv::core::Vector::new());
        assert!(written.expect("imwrite"));
    }
    (folder, last - event.onset_frame + 1, event.apex_frame - event.onset_frame)
}

/// A file or folder dropped on the window, as the platform hands it over.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// The analysis (or classification) the window started has ended.
fn analysed(app: &GlimpseApp) -> bool {
    matches!(&app.mode, Mode::Review(r) if r.analysis.is_none()) && app.doc.session.as_ref().is_some_and(|s| s.complete)
}

/// A folder of a dozen frames dropped on the window is too short to spot
/// in: it becomes one event, onset at its first frame and apex where
/// `glimpse classify` puts it, with the class, heatmap and region motion
/// of any event, reviewable and saved like any session; a notice says so.
#[test]
fn a_short_clip_dropped_on_the_window_is_classified_as_one_event() {
    let _heavy = crate::pipeline::live_run::testing::one_heavy_test_at_a_time();
    let scratch = crate::files::scratch_dir("app-short-clip");
    let (folder, frames, true_apex) = short_clip_folder(&scratch);
    assert!((9..=19).contains(&frames), "{frames} frames");
    let mut harness = window(&scratch);
    harness.input_mut().dropped_files.push(std::sync::Arc::new(Dropped(folder.clone())));
    harness.step();
    step_until(&mut harness, Duration::from_secs(120), analysed);

    // What `classify_clip` finds in the same folder at the same rate.
    let options = AnalysisOptions {
        weights: app(&mut harness).options.weights.clone(),
        folder_fps: Some(crate::pipeline::clip::DATASET_FPS),
        ..AnalysisOptions::default()
    };
    let expected_event = classified_as_the_app_does(folder.clone(), options);
    let app_now = app(&mut harness);
    let session = app_now.doc.session.as_ref().expect("a session");
    assert_eq!(session.source.frame_count, frames);
    assert_eq!(session.events.len(), 1, "{:?}", session.events);
    let event = &session.events[0];
    assert_eq!((event.onset_frame, event.apex_frame, event.offset_frame), (0, expected_event.apex_frame, frames - 1));
    assert!(event.apex_frame.abs_diff(true_apex) <= 1, "apex {} against the true {true_apex}", event.apex_frame);
    assert_eq!(event.class, expected_event.class);
    for (p, q) in event.probabilities.iter().zip(&expected_event.probabilities) {
        assert!(
            (p - q).abs() < 1e-4,
            "{:?} against classify's {:?}",
            event.probabilities,
            expected_event.probabilities
        );
    }
    assert_eq!(event.probabilities.len(), 3);
    assert!(event.attention_rows > 0 && event.attention.len() == event.attention_rows * event.attention_cols);
    assert!(session.settings.contains(&("apex_by".to_string(), "peak_motion".to_string())));
    let Mode::Review(review) = &app_now.mode else { panic!("not reviewing") };
    assert_eq!(review.video.as_ref().map(|v| (v.path.clone(), v.frame_count)), Some((folder.clone(), frames)));
    let notice = format!(
        "Short clip ({frames} frames): classified as one event, apex at frame {} by peak motion (too short for spotting)",
        expected_event.apex_frame
    );
    assert!(app_now.notices.texts().contains(&notice.as_str()), "{:?}", app_now.notices.texts());
    assert!(app_now.notices.errors().is_empty(), "{:?}", app_now.notices.errors());
    harness.run_steps(2);
    assert!(harness.get_all_by_label(&notice).next().is_some(), "the notice is not on screen");

    // Reviewed and saved like any session: beside the folder, named after it.
    harness.get_all_by_label("Confirm").next().expect("the event's Confirm").click();
    harness.run_steps(2);
    assert!(app(&mut harness).has_unsaved_reviews());
    app(&mut harness).on_menu(MenuAction::Save);
    let saved_path = scratch.join("EP01_clip.session.ron");
    step_until(&mut harness, Duration::from_secs(20), |app| app.files.idle() && !app.doc.dirty);
    let saved = Session::load(&saved_path).expect("the saved session");
    assert_eq!(saved.events.len(), 1);
    assert_eq!(saved.events[0].apex_frame, expected_event.apex_frame);
    assert_eq!(saved.events[0].review.status, ReviewStatus::Confirmed);
    let _ = std::fs::remove_dir_all(scratch);
}

/// A clip long enough to spot in (the 12 s demo) is still spotted: several
/// events, no clip notice.
#[test]
fn a_clip_long_enough_to_spot_in_is_still_spotted() {
    let _heavy = crate::pipeline::live_run::testing::one_heavy_test_at_a_time();
    let scratch = crate::files::scratch_dir("app-long-clip");
    let video = scratch.join("interview.mp4");
    std::fs::copy(DEMO, &video).expect("copy the demo clip");
    let mut harness = window(&scratch);
    app(&mut harness).open_path(&video);
    step_until(&mut harness, Duration::from_secs(300), analysed);
    let app_now = app(&mut harness);
    let session = app_now.doc.session.as_ref().expect("a session");
    assert_eq!(session.source.frame_count, 360);
    assert!(session.events.len() >= 2, "the demo clip has 4 events, found {}", session.events.len());
    assert!(!session.settings.iter().any(|(key, _)| key == "apex_by"), "{:?}", session.settings);
    assert!(!app_now.notices.texts().iter().any(|t| t.starts_with("Short clip")), "{:?}", app_now.notices.texts());
    let _ = std::fs::remove_dir_all(scratch);
}

/// A short video typed into File > Open by path (a dozen frames at 30 fps,
/// 0.4 s) is taken as one event too, its apex where `classify_clip` puts it.
#[test]
fn a_short_video_opened_by_path_is_classified_as_one_event() {
    use opencv::prelude::*;
    let _heavy = crate::pipeline::live_run::testing::one_heavy_test_at_a_time();
    let scratch = crate::files::scratch_dir("app-short-video");
    let (folder, frames, _) = short_clip_folder(&scratch);
    let video = scratch.join("short.avi");
    let fourcc = opencv::videoio::VideoWriter::fourcc('M', 'J', 'P', 'G').expect("fourcc");
    let size = opencv::core::Size::new(280, 340);
    let mut writer =
        opencv::videoio::VideoWriter::new(video.to_str().expect("utf-8"), fourcc, 30.0, size, true).expect("writer");
    for file in crate::capture::frame_files(&folder).expect("the frames") {
        let frame = opencv::imgcodecs::imread(file.to_str().expect("utf-8"), 1).expect("read a frame");
        writer.write(&frame).expect("write");
    }
    writer.release().expect("release");
    let mut harness = window(&scratch);
    app(&mut harness).on_menu(MenuAction::OpenByPath);
    harness.run_steps(2);
    app(&mut harness).files.path_entry = Some(video.display().to_string());
    harness.run_steps(2);
    harness.get_by_label("Open").click();
    harness.step();
    step_until(&mut harness, Duration::from_secs(120), analysed);

    let options = AnalysisOptions { weights: app(&mut harness).options.weights.clone(), ..AnalysisOptions::default() };
    let expected = classified_as_the_app_does(video.clone(), options);
    let app_now = app(&mut harness);
    let session = app_now.doc.session.as_ref().expect("a session");
    assert_eq!(session.source.frame_count, frames);
    assert_eq!(session.events.len(), 1, "{:?}", session.events);
    let event = &session.events[0];
    assert_eq!((event.onset_frame, event.apex_frame, event.offset_frame), (0, expected.apex_frame, frames - 1));
    assert_eq!(event.class, expected.class);
    let notice = format!(
        "Short clip ({frames} frames): classified as one event, apex at frame {} by peak motion (too short for spotting)",
        expected.apex_frame
    );
    assert!(app_now.notices.texts().contains(&notice.as_str()), "{:?}", app_now.notices.texts());
    let _ = std::fs::remove_dir_all(scratch);
}

/// What `classify_clip` makes of `clip`, on a thread set up as every
/// analysis's is (one torch thread on the CPU: the probabilities move by a
/// few hundredths with the thread count).
fn classified_as_the_app_does(clip: std::path::PathBuf, options: AnalysisOptions) -> crate::session::Event {
    std::thread::spawn(move || {
        crate::device::configure_threads(tch::Device::Cpu, crate::device::ThreadUse::Pipeline);
        let classified =
            crate::pipeline::classify_clip(&clip, &options, crate::pipeline::ClipEvent::default(), tch::Device::Cpu)
                .expect("classify the clip");
        classified.event().expect("classify's event").clone()
    })
    .join()
    .expect("the classify thread")
}
