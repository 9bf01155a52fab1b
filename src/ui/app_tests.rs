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
