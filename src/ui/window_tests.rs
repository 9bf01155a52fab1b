//! The whole window in egui_kittest, as eframe runs it (`logic`, then
//! `ui`), at the sizes users have: what must be visible or reachable at
//! each, the wait for the open dialog, and a live session from the demo
//! clip paused, resumed and played to its end.
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

use eframe::egui::{self, accesskit::Role, Rect, Vec2};
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;

use super::app::{GlimpseApp, Mode};
use super::layout::DEFAULT_WINDOW;
use super::notice_area::{NO_DIALOG_YET, OPENING_DIALOG};
use super::{AppLaunch, DISCLAIMER};
use crate::pipeline::live_run::testing::demo_clip;
use crate::pipeline::AnalysisOptions;
use crate::session::{Event, Session, SourceMeta};

struct Window {
    launch: Option<AppLaunch>,
    app: Option<GlimpseApp>,
    frame: eframe::Frame,
}

impl Window {
    fn app(&self) -> &GlimpseApp {
        self.app.as_ref().expect("the app is built on the first frame")
    }

    fn app_mut(&mut self) -> &mut GlimpseApp {
        self.app.as_mut().expect("the app is built on the first frame")
    }
}

/// The app in a window of `size`, built on the harness's context as eframe
/// builds it on its own, its settings in a scratch config folder.
fn window(size: Vec2, launch: AppLaunch) -> Harness<'static, Window> {
    static CONFIG: Once = Once::new();
    CONFIG.call_once(|| std::env::set_var("XDG_CONFIG_HOME", crate::files::scratch_dir("ui-window-config")));
    let state = Window { launch: Some(launch), app: None, frame: eframe::Frame::_new_kittest() };
    let mut harness = Harness::builder().with_size(size).build_ui_state(
        |ui, window: &mut Window| {
            let ctx = ui.ctx().clone();
            if let Some(launch) = window.launch.take() {
                window.app = Some(GlimpseApp::new(&ctx, launch));
            }
            let Window { app: Some(app), frame, .. } = window else { return };
            eframe::App::logic(app, &ctx, frame);
            eframe::App::ui(app, ui, frame);
        },
        state,
    );
    harness.step();
    harness
}

fn step_until(harness: &mut Harness<'_, Window>, done: impl Fn(&Window) -> bool, what: &str) {
    let started = Instant::now();
    while !done(harness.state()) {
        assert!(started.elapsed() < Duration::from_secs(90), "{what}");
        std::thread::sleep(Duration::from_millis(20));
        harness.step();
    }
}

fn steps(harness: &mut Harness<'_, Window>, n: usize) {
    for _ in 0..n {
        harness.step();
    }
}

/// The first node whose label contains `text` and lies in `within`.
fn label_in(harness: &Harness<'_, Window>, text: &str, within: Rect) -> Option<Rect> {
    harness.query_all_by_label_contains(text).map(|n| n.rect()).find(|r| within.contains_rect(*r))
}

/// Where the first event's `control` is (Confirm, Reject, or its note),
/// scrolled to first if `scroll`.
fn first_control(harness: &Harness<'_, Window>, control: &str, scroll: bool) -> Option<Rect> {
    let node = if control == "note" {
        harness.query_all_by_role(Role::TextInput).next()
    } else {
        harness.query_all_by_label(control).next()
    }?;
    if scroll {
        node.scroll_to_me();
    }
    Some(node.rect())
}

/// A reviewed clip: the demo video with three events, saved as a session
/// file that the app opens as a user would.
fn session_file(dir: &Path) -> PathBuf {
    let event = |id: u32, onset: u64| Event {
        probabilities: vec![0.2, 0.7, 0.1],
        class: 1,
        ..Event::at_frames(id, 0, [onset, onset + 4, onset + 10], 30.0)
    };
    let session = Session {
        source: SourceMeta {
            path: demo_clip().display().to_string(),
            width: 640,
            height: 480,
            measured_fps: 30.0,
            frame_count: 360,
            duration_s: 12.0,
            ..SourceMeta::default()
        },
        class_names: vec!["negative".into(), "positive".into(), "surprise".into()],
        events: vec![event(0, 40), event(1, 150), event(2, 260)],
        complete: true,
        ..Session::default()
    };
    let path = dir.join("reviewed.session.ron");
    session.save_ron(&path).expect("session saved");
    path
}

/// At the laptop sizes, the default window and the smallest window, with
/// a session open: the status line is in the window; the "loaded session"
/// notice is at the top of the video; the first event's Confirm, Reject
/// and note are in the event list once scrolled to; the video keeps at
/// least 170 points of height (a 4:3 clip 225 wide).
#[test]
fn status_notice_and_review_controls_are_in_the_window_at_every_size() {
    let dir = crate::files::scratch_dir("ui-window-sizes");
    let session = session_file(&dir);
    for (width, height) in [(1366.0, 768.0), (1280.0, 800.0), (DEFAULT_WINDOW.x, DEFAULT_WINDOW.y), (720.0, 480.0)] {
        let screen = Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(width, height));
        let launch = AppLaunch { video: Some(session.clone()), live_dir: Some(dir.clone()), ..AppLaunch::default() };
        let mut harness = window(screen.size(), launch);
        steps(&mut harness, 3);
        let at = format!("at {width}×{height}");
        let status = label_in(&harness, DISCLAIMER, screen).unwrap_or_else(|| panic!("no status line {at}"));
        let video = harness.state().app().video_rect.expect("the video panel");
        let events = harness.state().app().events_rect.expect("the event list");
        let timeline = harness.state().app().timeline_rect.expect("the timeline");
        assert!(
            video.height() >= 170.0 && video.width() >= 400.0,
            "the video is {:?} {at}; timeline {timeline:?}, events {events:?}, status {status:?}",
            video.size()
        );
        assert!(status.min.y >= events.max.y, "the status line is under the panels {at}");
        let notice =
            label_in(&harness, "loaded session", video).unwrap_or_else(|| panic!("no notice on the video {at}"));
        assert!(notice.min.y < video.min.y + 40.0, "the notice is at the top of the video {at}: {notice:?}");
        // Each control of the first event, scrolled to, is wholly in the
        // event list (half a point for rounding).
        for control in ["Confirm", "Reject", "note"] {
            first_control(&harness, control, true).unwrap_or_else(|| panic!("no {control} {at}"));
            steps(&mut harness, 3);
            let rect = first_control(&harness, control, false).expect("still there");
            assert!(
                events.expand(0.5).contains_rect(rect) && screen.contains_rect(rect),
                "{control} at {rect:?}, the list at {events:?} {at}"
            );
            assert!(rect.width() >= 30.0, "{control} is {} wide {at}", rect.width());
        }
    }
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// File ▸ Open on a desktop whose dialog never shows: at once the video's
/// notice area says the dialog is being opened; after 4 s it says how else
/// to open a file and offers Open by path; when the dialog gives up, its
/// answer is shown there too.
#[test]
fn a_dialog_that_does_not_appear_is_reported_over_the_video_with_other_ways_to_open() {
    let mut harness = window(DEFAULT_WINDOW, AppLaunch::default());
    let (answer, dialog) = crossbeam_channel::bounded::<Option<PathBuf>>(1);
    {
        let app = harness.state_mut().app_mut();
        app.files.pick_with(move || dialog.recv().ok().flatten(), || {}, &mut app.notices);
    }
    steps(&mut harness, 2);
    let video = harness.state().app().video_rect.expect("the video panel");
    assert!(label_in(&harness, OPENING_DIALOG, video).is_some(), "the wait is shown over the video at once");
    assert!(label_in(&harness, NO_DIALOG_YET, video).is_none(), "and not the hint, yet");
    if let Some(wait) = harness.state_mut().app_mut().files.dialog.as_mut() {
        wait.since -= Duration::from_secs(5);
    }
    steps(&mut harness, 2);
    assert!(label_in(&harness, NO_DIALOG_YET, video).is_some(), "after 4 s, the other ways to open");
    harness.get_by_label("Open by path…").click();
    steps(&mut harness, 2);
    assert_eq!(harness.state().app().files.path_entry.as_deref(), Some(""), "the Open by path box is open");
    // The box is above the notice area: a click reaches its field.
    harness.get_by_role(Role::TextInput).click();
    steps(&mut harness, 1);
    harness.get_by_role(Role::TextInput).type_text("/nowhere/interview.mp4");
    steps(&mut harness, 2);
    let typed = harness.state().app().files.path_entry.clone();
    assert_eq!(typed.as_deref(), Some("/nowhere/interview.mp4"), "the box's field took the text");
    answer.send(None).expect("the dialog thread waits");
    step_until(&mut harness, |w| w.app().files.dialog_open_for().is_none(), "the dialog's answer never came");
    steps(&mut harness, 2);
    assert!(label_in(&harness, "no file chosen", video).is_some(), "the answer is shown over the video");
    assert!(label_in(&harness, OPENING_DIALOG, video).is_none());
}

fn live_stats(window: &Window) -> Option<crate::pipeline::live_run::LiveStats> {
    match &window.app().mode {
        Mode::Live(live) => Some(live.stats),
        Mode::Review(_) => None,
    }
}

fn click_at(harness: &mut Harness<'_, Window>, pos: egui::Pos2) {
    harness.event(egui::Event::PointerMoved(pos));
    for pressed in [true, false] {
        harness.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::default(),
        });
    }
    harness.step();
}

/// The demo clip as a live source, in the whole window: Pause holds the
/// clip itself (no frame arrives while paused, none is skipped: every one
/// of its 360 frames is analysed or counted as dropped); when it ends the
/// window says so over the video, and a click where Stop was does not
/// start a new session (the ended line is there; Start is below it).
#[test]
fn a_live_clip_pauses_itself_and_its_end_does_not_put_start_under_the_pointer() {
    let _heavy = crate::pipeline::live_run::testing::one_heavy_test_at_a_time();
    let dir = crate::files::scratch_dir("ui-window-live");
    let weights = Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/epir-megc2019.safetensors");
    let launch = AppLaunch {
        live_file: Some(demo_clip()),
        live_dir: Some(dir.clone()),
        options: AnalysisOptions { weights: Some(weights), ..AnalysisOptions::default() },
        ..AppLaunch::default()
    };
    let mut harness = window(egui::vec2(1280.0, 800.0), launch);
    harness.get_by_label("Start live session").click();
    step_until(&mut harness, |w| live_stats(w).is_some_and(|s| s.analysed >= 45), "the session never got going");
    let stop = harness.get_by_label("Stop").rect();
    harness.get_by_label("Pause").click();
    step_until(&mut harness, |w| live_stats(w).is_some_and(|s| s.paused), "the pause never took");
    let analysed = live_stats(harness.state()).map(|s| s.analysed);
    let held = Instant::now();
    while held.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(20));
        harness.step();
        let Mode::Live(live) = &harness.state().app().mode else { panic!("the session ended while paused") };
        assert!(live.fresh_capture.is_none(), "a frame arrived while paused: the clip played on");
    }
    assert_eq!(live_stats(harness.state()).map(|s| s.analysed), analysed, "nothing analysed while paused");
    harness.get_by_label("Resume").click();
    step_until(&mut harness, |w| matches!(w.app().mode, Mode::Review(_)), "the clip never ended");
    steps(&mut harness, 3);
    let video = harness.state().app().video_rect.expect("the video panel");
    assert!(label_in(&harness, "the clip ended", video).is_some(), "the end is said over the video");
    let frames = harness.state().app().doc.session.as_ref().map_or(0, |s| s.frames.len() as u64);
    let dropped = harness.state().app().live_ended.map_or(u64::MAX, |s| s.dropped);
    assert_eq!(frames + dropped, 360, "no frame of the clip went by unanalysed ({frames} analysed)");
    click_at(&mut harness, stop.center());
    steps(&mut harness, 3);
    assert!(matches!(harness.state().app().mode, Mode::Review(_)), "a click where Stop was started a session");
    let ended = harness.get_by_label("The clip ended; so did the session.").rect();
    assert!(ended.contains(stop.center()), "the ended line ({ended:?}) is where Stop was ({stop:?})");
    let start = harness.get_by_label("Start live session").rect();
    assert!(start.min.y >= stop.max.y, "Start ({start:?}) is under where Stop was ({stop:?})");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
