//! The live panel, driven through egui_kittest: what it offers before a
//! session, and the buttons a running (or lost) session shows.
use std::path::PathBuf;

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use glimpse::capture::{CameraDevice, CameraRequest};
use glimpse::pipeline::live_run::LiveStats;
use glimpse::ui::live_panel::{live_panel_ui, CameraList, LiveAction, LiveSource, LiveView};
use glimpse::ui::settings::Settings;

struct State {
    view: Option<LiveView>,
    settings: Settings,
    source: LiveSource,
    cameras: CameraList,
    clicked: Vec<LiveAction>,
    /// How the last session ended.
    last_end: Option<String>,
}

fn harness(cameras: Vec<CameraDevice>) -> Harness<'static, State> {
    harness_with(cameras, None)
}

fn harness_with(cameras: Vec<CameraDevice>, view: Option<LiveView>) -> Harness<'static, State> {
    let state = State {
        view,
        settings: Settings::default(),
        source: LiveSource::Camera,
        cameras: CameraList::known(cameras),
        clicked: Vec::new(),
        last_end: None,
    };
    Harness::builder().with_size(eframe::egui::vec2(420.0, 600.0)).build_ui_state(
        |ui, state: &mut State| {
            let file = PathBuf::from("interview.mp4");
            if let Some(action) = live_panel_ui(
                ui,
                &mut state.settings,
                &mut state.source,
                Some(&file),
                &state.cameras,
                state.view.as_ref(),
                state.last_end.as_deref(),
            ) {
                state.clicked.push(action);
            }
        },
        state,
    )
}

#[test]
fn the_panel_offers_the_camera_its_modes_and_a_start_button() {
    let camera = CameraDevice { index: 0, name: "Lab webcam".into(), description: "uvcvideo".into() };
    let mut harness = harness(vec![camera]);
    // The combo boxes, by name, show the camera and the default mode.
    assert_eq!(harness.get_by_label("source").value().as_deref(), Some("0: Lab webcam"));
    assert_eq!(harness.get_by_label("resolution").value().as_deref(), Some("640×480"));
    assert_eq!(harness.get_by_label("frame rate").value().as_deref(), Some("30 fps"));
    // YUYV instead of MJPEG is kept in the settings.
    harness.get_by_label("YUYV").click();
    harness.run();
    assert_eq!(harness.state().settings.camera, CameraRequest { prefer_mjpeg: false, ..CameraRequest::default() });
    harness.get_by_label("Start live session").click();
    harness.run();
    assert_eq!(harness.state().clicked, vec![LiveAction::Start]);
}

#[test]
fn without_a_camera_the_panel_says_so_and_offers_a_refresh() {
    let mut harness = harness(Vec::new());
    harness.get_by_label("No camera found: plug one in and refresh.");
    harness.get_by_label("Refresh cameras").click();
    harness.run();
    assert_eq!(harness.state().clicked, vec![LiveAction::RefreshCameras]);
}

#[test]
fn a_running_session_shows_its_rate_and_drops_and_can_be_paused_and_stopped() {
    let mut view = LiveView::new(None, "camera 0".into());
    view.stats = LiveStats { capture_fps: 29.7, dropped: 12, analysed: 900, analysis_ms: 9.5, paused: false };
    let mut harness = harness_with(Vec::new(), Some(view));
    harness.get_by_label("29.7 fps (measured)");
    harness.get_by_label("12 frames");
    harness.get_by_label("900 frames");
    // No new session while one runs.
    assert!(harness.query_by_label("Start live session").is_none());
    harness.get_by_label("Pause").click();
    harness.run();
    harness.get_by_label("Stop").click();
    harness.run();
    assert_eq!(harness.state().clicked, vec![LiveAction::Pause, LiveAction::Stop]);
}

#[test]
fn a_lost_camera_is_said_and_offers_a_retry() {
    let mut view = LiveView::new(None, "camera 0".into());
    view.lost = Some("camera 0: No such device (os error 19)".into());
    let mut harness = harness_with(Vec::new(), Some(view));
    harness.get_by_label("Source lost: camera 0: No such device (os error 19)");
    harness.get_by_label("The session so far is kept and autosaved.");
    harness.get_by_label("Retry").click();
    harness.run();
    assert_eq!(harness.state().clicked, vec![LiveAction::Retry]);
}

/// A session that ended by itself (its clip played out) while the user
/// aimed at Stop: the line saying so takes the row where Pause and Stop
/// were, so a click there does nothing; Start is below it.
#[test]
fn after_a_session_ends_a_click_where_stop_was_does_not_start_another() {
    let mut harness = harness_with(Vec::new(), Some(LiveView::new(None, "interview.mp4".into())));
    let (pause, stop) = (harness.get_by_label("Pause").rect(), harness.get_by_label("Stop").rect());
    harness.state_mut().view = None;
    harness.state_mut().last_end = Some("The clip ended; so did the session.".into());
    harness.run();
    let start = harness.get_by_label("Start live session").rect();
    assert!(start.top() >= stop.bottom(), "Start at {start:?}, Stop was at {stop:?}");
    for pos in [pause.center(), stop.center()] {
        harness.event(eframe::egui::Event::PointerMoved(pos));
        for pressed in [true, false] {
            harness.event(eframe::egui::Event::PointerButton {
                pos,
                button: eframe::egui::PointerButton::Primary,
                pressed,
                modifiers: eframe::egui::Modifiers::default(),
            });
        }
        harness.run();
    }
    assert_eq!(harness.state().clicked, Vec::new(), "a click where Pause or Stop were did something");
    harness.get_by_label("Start live session").click();
    harness.run();
    assert_eq!(harness.state().clicked, vec![LiveAction::Start]);
}

#[test]
fn every_control_of_the_panel_explains_itself() {
    let camera = CameraDevice { index: 0, name: "Lab webcam".into(), description: "uvcvideo".into() };
    let mut harness = harness(vec![camera]);
    for (control, help) in [
        ("Start live session", "Analyse the source live"),
        ("Refresh cameras", "List the cameras again"),
        ("Record the video (for review later)", "Keep an MJPEG recording"),
        ("source", "What the live session analyses"),
        ("resolution", "The size asked of the camera"),
        ("frame rate", "The rate asked of the camera"),
        ("MJPEG", "Compressed"),
    ] {
        harness.get_by_label(control).hover();
        harness.run();
        harness.get_by_label_contains(help);
    }
}
