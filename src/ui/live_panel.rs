//! The live half of the window: the camera picker and mode, start / pause
//! / stop, and what the running session says about itself (measured camera
//! rate, frames dropped because the analysis fell behind, where it
//! autosaves). The run is `pipeline::live_run`, driven by `live_session`; this
//! module only draws.
use std::path::PathBuf;
use std::time::Instant;

use crossbeam_channel::Receiver;
use eframe::egui::{self, Color32, RichText};

use super::colours::on_panel;
use crate::capture::{list_cameras, CameraDevice};
use crate::pipeline::live_run::{LivePaths, LiveStats};
use crate::pipeline::live_save::ReviewLog;
use crate::pipeline::AnalysisRun;
use crate::ui::settings::Settings;

/// Camera modes offered; the camera gets the closest it has.
const RESOLUTIONS: [(u32, u32); 4] = [(640, 480), (960, 540), (1280, 720), (1920, 1080)];
const FRAME_RATES: [u32; 3] = [15, 30, 60];

/// Where live frames come from.
#[derive(Clone, Debug, PartialEq)]
pub enum LiveSource {
    Camera,
    /// A video played at its own pace as if it were a camera (`--live-file`).
    File(PathBuf),
}

/// The live panel's own state, kept across sessions.
pub struct LivePanel {
    pub visible: bool,
    pub source: LiveSource,
    /// The video offered as a source (`--live-file`).
    pub file: Option<PathBuf>,
    pub cameras: CameraList,
    /// Where live sessions go this run (over the settings).
    pub dir_override: Option<PathBuf>,
    /// How the last session ended, shown where its Pause and Stop were.
    pub last_end: Option<String>,
}

impl LivePanel {
    /// Where live sessions go: this run's folder, the settings', the default.
    pub fn dir(&self, settings: &Settings) -> Option<PathBuf> {
        self.dir_override
            .clone()
            .or_else(|| settings.live_dir.clone())
            .or_else(crate::pipeline::live_run::default_live_dir)
    }
}

/// A running (or stopping) live session as the window sees it; there is
/// none once the session has ended and been saved.
pub struct LiveView {
    /// Taken at exit, to stop and wait for the save.
    pub run: Option<AnalysisRun>,
    /// The reviewer's verdicts: journalled as they are made, applied to
    /// the session the run ends with.
    pub reviews: ReviewLog,
    /// The ended session being saved off the UI thread.
    pub saving: Option<Receiver<super::live_session::Saved>>,
    /// Playback speed to review at once the session has ended.
    pub review_speed: f32,
    pub texture: Option<egui::TextureHandle>,
    /// The session frame on screen; `None` while paused (not analysed).
    pub shown_index: Option<u64>,
    /// Width of the analysed frames (overlays are in their pixels).
    pub frame_width: f32,
    pub stats: LiveStats,
    pub paths: Option<LivePaths>,
    pub device: Option<String>,
    /// The source failed; the text says why. Retry reconnects.
    pub lost: Option<String>,
    pub stopping: bool,
    /// The source ended by itself (a clip played to its end), not by Stop.
    pub source_ended: bool,
    pub source_name: String,
    /// Capture time of the frame on screen, if it arrived this UI frame.
    pub fresh_capture: Option<Instant>,
}

impl LiveView {
    pub fn new(run: Option<AnalysisRun>, source_name: String) -> Self {
        Self {
            run,
            reviews: ReviewLog::default(),
            saving: None,
            review_speed: 1.0,
            texture: None,
            shown_index: None,
            frame_width: 0.0,
            stats: LiveStats::default(),
            paths: None,
            device: None,
            lost: None,
            stopping: false,
            source_ended: false,
            source_name,
            fresh_capture: None,
        }
    }
}

/// What the user asked for in the live panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveAction {
    Start,
    Pause,
    Resume,
    Stop,
    Retry,
    RefreshCameras,
}

/// The camera list, read on its own thread (V4L2 queries can stall on a
/// misbehaving device).
#[derive(Default)]
pub struct CameraList {
    pub cameras: Option<Result<Vec<CameraDevice>, String>>,
    pending: Option<Receiver<Result<Vec<CameraDevice>, String>>>,
}

impl CameraList {
    /// A list already known (tests, or a list kept from before).
    pub fn known(cameras: Vec<CameraDevice>) -> Self {
        Self { cameras: Some(Ok(cameras)), pending: None }
    }

    pub fn refresh(&mut self, wake: impl Fn() + Send + 'static) {
        let (sender, receiver) = crossbeam_channel::bounded(1);
        let spawned = std::thread::Builder::new().name("glimpse-cameras".into()).spawn(move || {
            let _ = sender.send(list_cameras().map_err(|e| crate::error_text::error_chain(&e)));
            wake();
        });
        match spawned {
            Ok(_) => self.pending = Some(receiver),
            Err(e) => self.cameras = Some(Err(format!("cannot list cameras: {e}"))),
        }
    }

    pub fn poll(&mut self) {
        if let Some(result) = self.pending.as_ref().and_then(|r| r.try_recv().ok()) {
            self.cameras = Some(result);
            self.pending = None;
        }
    }

    fn listing(&self) -> bool {
        self.pending.is_some()
    }
}

/// The live panel; returns what was clicked. `last_end` says how the
/// last session ended.
pub fn live_panel_ui(
    ui: &mut egui::Ui,
    settings: &mut Settings,
    source: &mut LiveSource,
    live_file: Option<&PathBuf>,
    cameras: &CameraList,
    view: Option<&LiveView>,
    last_end: Option<&str>,
) -> Option<LiveAction> {
    let mut action = None;
    ui.heading("Live session");
    // Text wraps instead of widening the panel.
    ui.set_max_width(ui.available_width());
    let running = view.is_some();
    ui.add_enabled_ui(!running, |ui| {
        let camera_name = |index: u32| match &cameras.cameras {
            Some(Ok(list)) => list
                .iter()
                .find(|c| c.index == index)
                .map_or_else(|| format!("camera {index}"), |c| format!("{index}: {}", c.name)),
            _ => format!("camera {index}"),
        };
        let selected = match source {
            LiveSource::Camera => camera_name(settings.camera.index),
            LiveSource::File(path) => format!("file: {}", path.file_name().unwrap_or_default().to_string_lossy()),
        };
        let source_combo = egui::ComboBox::from_label("source").selected_text(selected).width(220.0).show_ui(ui, |ui| {
            if let Some(Ok(list)) = &cameras.cameras {
                for camera in list {
                    let chosen = *source == LiveSource::Camera && settings.camera.index == camera.index;
                    if ui.selectable_label(chosen, format!("{}: {}", camera.index, camera.name)).clicked() {
                        settings.camera.index = camera.index;
                        *source = LiveSource::Camera;
                    }
                }
            }
            if let Some(file) = live_file {
                let label = format!("file: {}", file.file_name().unwrap_or_default().to_string_lossy());
                if ui.selectable_label(matches!(source, LiveSource::File(_)), label).clicked() {
                    *source = LiveSource::File(file.clone());
                }
            }
        });
        source_combo.response.on_hover_text("What the live session analyses: a camera, or the clip given with --live-file");
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!cameras.listing(), egui::Button::new("Refresh cameras"))
                .on_hover_text("List the cameras again (after plugging one in)")
                .clicked()
            {
                action = Some(LiveAction::RefreshCameras);
            }
            if cameras.listing() {
                ui.spinner();
            }
        });
        match &cameras.cameras {
            Some(Ok(list)) if list.is_empty() => {
                ui.label("No camera found: plug one in and refresh.");
            }
            Some(Err(e)) => {
                ui.label(RichText::new(format!("Cameras cannot be listed: {e}")).color(error_colour(ui)));
            }
            _ => {}
        }
        if *source == LiveSource::Camera {
            let camera = &mut settings.camera;
            egui::ComboBox::from_label("resolution")
                .selected_text(format!("{}×{}", camera.width, camera.height))
                .show_ui(ui, |ui| {
                    for (w, h) in RESOLUTIONS {
                        if ui.selectable_label((camera.width, camera.height) == (w, h), format!("{w}×{h}")).clicked() {
                            (camera.width, camera.height) = (w, h);
                        }
                    }
                })
                .response
                .on_hover_text("The size asked of the camera (it may give the nearest it has)");
            egui::ComboBox::from_label("frame rate").selected_text(format!("{} fps", camera.fps)).show_ui(ui, |ui| {
                for fps in FRAME_RATES {
                    ui.selectable_value(&mut camera.fps, fps, format!("{fps} fps"));
                }
            })
            .response
            .on_hover_text("The rate asked of the camera; the measured rate shows while it runs");
            ui.horizontal(|ui| {
                ui.radio_value(&mut camera.prefer_mjpeg, true, "MJPEG")
                    .on_hover_text("Compressed: 30 fps at 720p and above over USB 2");
                ui.radio_value(&mut camera.prefer_mjpeg, false, "YUYV").on_hover_text("Raw: no compression artefacts");
            });
        }
        ui.checkbox(&mut settings.record_live, "Record the video (for review later)")
            .on_hover_text("Keep an MJPEG recording beside the session (private files), to review and re-analyse");
    });
    ui.separator();
    match view {
        Some(view) => {
            ui.horizontal(|ui| {
                let paused = view.stats.paused;
                let pause = ui
                    .add_enabled(!view.stopping, egui::Button::new(if paused { "Resume" } else { "Pause" }))
                    .on_hover_text("Hold the analysis and the recording (a clip source is held too)");
                if pause.clicked() {
                    action = Some(if paused { LiveAction::Resume } else { LiveAction::Pause });
                }
                if ui
                    .add_enabled(!view.stopping, egui::Button::new("Stop"))
                    .on_hover_text("End the session and save it, with its recording")
                    .clicked()
                {
                    action = Some(LiveAction::Stop);
                }
                if view.stopping {
                    ui.spinner();
                    ui.label("saving…");
                }
            });
            if let Some(error) = &view.lost {
                ui.label(RichText::new(format!("Source lost: {error}")).color(error_colour(ui)));
                ui.label("The session so far is kept and autosaved.");
                if ui.button("Retry").on_hover_text("Open the source again; the session goes on").clicked() {
                    action = Some(LiveAction::Retry);
                }
            }
            live_stats_ui(ui, view);
        }
        None => {
            if let Some(last_end) = last_end {
                // In the row where Pause and Stop were, at least as tall:
                // a click meant for Stop as the session ended on its own
                // lands here, not on Start.
                ui.horizontal_wrapped(|ui| {
                    ui.set_min_height(ui.spacing().interact_size.y + ui.spacing().item_spacing.y);
                    ui.label(RichText::new(last_end).strong());
                });
            }
            if ui
                .button(RichText::new("Start live session").strong())
                .on_hover_text("Analyse the source live; the session is autosaved and, if chosen, recorded")
                .clicked()
            {
                action = Some(LiveAction::Start);
            }
        }
    }
    action
}

fn live_stats_ui(ui: &mut egui::Ui, view: &LiveView) {
    let s = &view.stats;
    egui::Grid::new("live-stats").num_columns(2).show(ui, |ui| {
        ui.label("source");
        ui.add(egui::Label::new(&view.source_name).wrap());
        ui.end_row();
        ui.label("camera rate");
        ui.label(format!("{:.1} fps (measured)", s.capture_fps));
        ui.end_row();
        ui.label("analysed");
        ui.label(format!("{} frames", s.analysed));
        ui.end_row();
        ui.label("dropped");
        let text = format!("{} frames", s.dropped);
        if s.dropped > 0 {
            ui.label(RichText::new(text).color(on_panel(Color32::from_rgb(240, 190, 80), ui.visuals().dark_mode)))
                .on_hover_text(
                    "The analysis fell behind the camera; the oldest waiting frames were skipped. An event \
                     spanning skipped frames is marked ! in the event list: its class may differ from an \
                     analysis of the recording.",
                );
        } else {
            ui.label(text);
        }
        ui.end_row();
        ui.label("analysis");
        ui.label(format!("{:.1} ms / frame", s.analysis_ms));
        ui.end_row();
        if let Some(device) = &view.device {
            ui.label("device");
            ui.label(device);
            ui.end_row();
        }
        // File names only, the full path on hover: a long path would
        // widen the panel at the video's expense.
        let file_name = |path: &std::path::Path| path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if let Some(paths) = &view.paths {
            ui.label("autosave");
            ui.label(file_name(&paths.journal))
                .on_hover_text(format!("{}\nSynced every 2 s; restored after a crash.", paths.journal.display()));
            ui.end_row();
            if let Some(recording) = &paths.recording {
                ui.label("recording");
                ui.label(file_name(recording)).on_hover_text(recording.display().to_string());
                ui.end_row();
            }
        }
    });
}

fn error_colour(ui: &egui::Ui) -> Color32 {
    on_panel(Color32::from_rgb(255, 110, 110), ui.visuals().dark_mode)
}
