//! `GlimpseApp`: one window for reviewing a recorded video. Heavy work runs
//! elsewhere (analysis, decoding, saving and exporting each on their own
//! thread); this struct only drains their channels and draws.
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use eframe::egui::{self, Color32, RichText};

use super::analysis::{AnalysisJob, AnalysisMessage};
use super::colours::on_panel;
use super::events::{apply_review_edit, event_list_ui};
use super::jobs::{FileJob, JobMessage};
use super::live::{live_panel_ui, CameraList, LiveAction, LiveSource, LiveView};
use super::overlay::{draw_overlays, FrameToScreen, OverlayOptions};
use super::playback::FrameDecoder;
use super::screenshot::{write_png, ScreenshotScript, ScriptStage};
use super::settings::{load_settings, save_settings, settings_path, Settings, Theme};
use super::timeline::{frame_at_time, timeline_ui, TimelineLines};
use crate::bench::ui::UiSamples;
use crate::device::DeviceChoice;
use crate::pipeline::live::{
    default_live_dir, open_camera, open_paced_file, recover_session, session_name_now, LiveCommand, LiveConfig,
    LiveJob, LiveMessage, OpenFeed, RecoveredSession,
};
use crate::pipeline::{AnalysisOptions, Progress};
use crate::timeline::export::{export_path, ExportFormat};
use crate::timeline::journal::unfinished_journals;
use crate::timeline::Session;

pub const DISCLAIMER: &str = "Results are candidates for expert review, not a lie detector.";

/// Playback speeds offered (× real time).
const SPEEDS: [f32; 5] = [0.25, 0.5, 1.0, 1.5, 2.0];
/// How long a live event stays drawn on the face after it ended: it is
/// reported about a second after its offset, so "during" never happens live.
const LIVE_EVENT_HOLD_S: f64 = 4.0;
/// Seconds of a live session the timeline shows (it scrolls).
const LIVE_TIMELINE_S: f64 = 60.0;
/// How often a live session's journal is synced to disk.
const AUTOSAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// What the command line asked for.
#[derive(Clone, Debug, Default)]
pub struct AppLaunch {
    pub video: Option<PathBuf>,
    pub screenshot_dir: Option<PathBuf>,
    pub exit_after_analysis: bool,
    /// Pipeline options (weights, detector…); sensitivity comes from the settings.
    pub options: AnalysisOptions,
    /// `--device` on the command line: wins over the settings for this run.
    pub device: Option<DeviceChoice>,
    /// A video to offer as a live source, played at its own pace.
    pub live_file: Option<PathBuf>,
    /// Start a live session at once (from `live_file` if given, else the camera).
    pub start_live: bool,
    /// Measure the UI during a live session, write the JSON here and close
    /// the window when the source ends (`glimpse bench ui`).
    pub bench_ui: Option<PathBuf>,
    /// Where live sessions go this run (overrides the settings).
    pub live_dir: Option<PathBuf>,
}

/// The outcome of a scripted run, read by `main` after the window closes.
pub type ScriptOutcome = Arc<Mutex<Option<Result<Vec<PathBuf>, String>>>>;

/// The video being reviewed.
struct OpenVideo {
    path: PathBuf,
    width: i32,
    height: i32,
    nominal_fps: f64,
    frame_count: u64,
    decoder: Option<FrameDecoder>,
    texture: Option<egui::TextureHandle>,
    shown_index: Option<u64>,
    requested_index: Option<u64>,
}

struct Playhead {
    frame: u64,
    playing: bool,
    speed: f32,
    /// Fractional frames carried between UI frames at slow speeds.
    carry: f64,
}

pub struct GlimpseApp {
    settings: Settings,
    saved_settings: Settings,
    settings_path: Option<PathBuf>,
    options: AnalysisOptions,
    device_override: Option<DeviceChoice>,
    video: Option<OpenVideo>,
    session: Option<Session>,
    dirty: bool,
    analysis: Option<AnalysisJob>,
    progress: Option<Progress>,
    analysis_device: Option<String>,
    /// Errors and notices, newest last; shown until dismissed.
    messages: Vec<(bool, String)>,
    playhead: Playhead,
    selected_face: Option<u32>,
    file_job: Option<FileJob>,
    file_dialog: Option<crossbeam_channel::Receiver<Option<PathBuf>>>,
    script: Option<ScreenshotScript>,
    script_outcome: ScriptOutcome,
    /// Screen rectangles of the parts the screenshot script crops out.
    timeline_rect: Option<egui::Rect>,
    events_rect: Option<egui::Rect>,
    /// Bumped whenever the session changes (the timeline recomputes its
    /// lines only then).
    session_revision: u64,
    timeline_lines: TimelineLines,
    live: Option<LiveView>,
    live_panel: bool,
    live_source: LiveSource,
    live_file: Option<PathBuf>,
    cameras: CameraList,
    /// Journals of live sessions that did not close (found at start-up).
    unfinished: Vec<PathBuf>,
    recovery: Option<crossbeam_channel::Receiver<Result<RecoveredSession, String>>>,
    /// A timeline PNG asked for: written when the screenshot comes back.
    timeline_png: Option<(PathBuf, crossbeam_channel::Receiver<Arc<egui::ColorImage>>)>,
    live_dir_override: Option<PathBuf>,
    /// The "Open by path" box, while it is open.
    path_entry: Option<String>,
    bench: Option<UiBenchRun>,
    ctx: egui::Context,
}

/// `glimpse bench ui` in progress.
struct UiBenchRun {
    out: PathBuf,
    samples: UiSamples,
    started: Option<std::time::Instant>,
    last_frame: Option<std::time::Instant>,
    device: String,
}

impl GlimpseApp {
    pub fn new(ctx: &egui::Context, launch: AppLaunch, outcome: ScriptOutcome) -> Self {
        let settings_path = settings_path();
        let loaded = settings_path.as_deref().map(load_settings);
        let (settings, warning) = match loaded {
            Some(loaded) => (loaded.settings, loaded.warning),
            None => {
                (Settings::default(), Some("no config folder ($XDG_CONFIG_HOME, $HOME): settings are not kept".into()))
            }
        };
        let mut app = Self {
            saved_settings: settings.clone(),
            settings,
            settings_path,
            options: launch.options,
            device_override: launch.device,
            video: None,
            session: None,
            dirty: false,
            analysis: None,
            progress: None,
            analysis_device: None,
            messages: warning.into_iter().map(|w| (true, w)).collect(),
            playhead: Playhead { frame: 0, playing: false, speed: 1.0, carry: 0.0 },
            selected_face: None,
            file_job: None,
            file_dialog: None,
            script: launch.screenshot_dir.map(|dir| ScreenshotScript::new(dir, launch.exit_after_analysis)),
            script_outcome: outcome,
            timeline_rect: None,
            events_rect: None,
            session_revision: 0,
            timeline_lines: TimelineLines::default(),
            live: None,
            live_panel: launch.start_live || launch.live_file.is_some(),
            live_source: launch.live_file.clone().map_or(LiveSource::Camera, LiveSource::File),
            live_file: launch.live_file,
            cameras: CameraList::default(),
            unfinished: Vec::new(),
            recovery: None,
            timeline_png: None,
            live_dir_override: launch.live_dir,
            path_entry: None,
            bench: launch.bench_ui.map(|out| UiBenchRun {
                out,
                samples: UiSamples::default(),
                started: None,
                last_frame: None,
                device: String::new(),
            }),
            ctx: ctx.clone(),
        };
        app.apply_theme();
        app.cameras.refresh(app.wake());
        if let Some(dir) = app.live_dir() {
            app.unfinished = unfinished_journals(&dir);
        }
        if let Some(video) = launch.video {
            app.open_path(&video);
        }
        if launch.start_live || app.bench.is_some() {
            app.start_live();
        }
        app
    }

    fn live_dir(&self) -> Option<PathBuf> {
        self.live_dir_override.clone().or_else(|| self.settings.live_dir.clone()).or_else(default_live_dir)
    }

    fn live_running(&self) -> bool {
        self.live.is_some()
    }

    fn set_session(&mut self, session: Option<Session>) {
        self.session = session;
        self.session_revision += 1;
    }

    fn apply_theme(&self) {
        self.ctx.set_theme(match self.settings.theme {
            Theme::Dark => egui::Theme::Dark,
            Theme::Light => egui::Theme::Light,
        });
    }

    fn wake(&self) -> impl Fn() + Send + 'static {
        let ctx = self.ctx.clone();
        move || ctx.request_repaint()
    }

    fn error(&mut self, text: impl Into<String>) {
        self.messages.push((true, text.into()));
    }

    fn notice(&mut self, text: impl Into<String>) {
        self.messages.push((false, text.into()));
    }

    /// A session file (.ron/.json) is loaded and its source opened for
    /// playback; anything else is taken for a video and analysed.
    fn open_path(&mut self, path: &Path) {
        if self.live.is_some() {
            self.notice(format!("stop the live session before opening {}", path.display()));
            return;
        }
        // Absolute, so the dialog finds it again from any working directory.
        let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(folder) = absolute.parent().filter(|p| !p.as_os_str().is_empty()) {
            self.settings.last_folder = Some(folder.to_path_buf());
        }
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
        if ext == "ron" || ext == "json" {
            match Session::load(path) {
                Ok(session) => {
                    let source = PathBuf::from(&session.source.path);
                    self.analysis = None;
                    self.open_video(&source);
                    self.selected_face = session.face_ids().first().copied();
                    self.set_session(Some(session));
                    self.dirty = false;
                    self.notice(format!("loaded session {}", path.display()));
                }
                Err(e) => self.error(e.to_string()),
            }
            return;
        }
        self.open_video(path);
        self.set_session(None);
        self.dirty = false;
        self.start_analysis(path);
    }

    fn open_video(&mut self, path: &Path) {
        self.playhead = Playhead { frame: 0, playing: false, speed: self.playhead.speed, carry: 0.0 };
        let info = match crate::capture::open(path, None) {
            Ok(source) => source.info().clone(),
            Err(e) => {
                self.error(e.to_string());
                self.video = None;
                return;
            }
        };
        let decoder = match FrameDecoder::open(path, self.wake()) {
            Ok(decoder) => Some(decoder),
            Err(e) => {
                self.error(e.to_string());
                None
            }
        };
        self.video = Some(OpenVideo {
            path: path.to_path_buf(),
            width: info.width,
            height: info.height,
            nominal_fps: info.nominal_fps,
            frame_count: info.frame_count.unwrap_or(0),
            decoder,
            texture: None,
            shown_index: None,
            requested_index: None,
        });
    }

    fn start_analysis(&mut self, path: &Path) {
        let mut options = self.options.clone();
        options.spotting = options.spotting.with_sensitivity(self.settings.sensitivity);
        self.progress = None;
        self.analysis_device = None;
        let device = self.device_override.unwrap_or(self.settings.device);
        match AnalysisJob::start(path, options, device, self.wake()) {
            Ok(job) => self.analysis = Some(job),
            Err(e) => self.error(format!("cannot start the analysis thread: {e}")),
        }
    }

    fn fps(&self) -> f64 {
        let measured = self.session.as_ref().map(Session::fps).unwrap_or(0.0);
        if measured > 0.0 {
            measured
        } else {
            self.video.as_ref().map_or(0.0, |v| v.nominal_fps)
        }
    }

    fn frame_count(&self) -> u64 {
        let from_video = self.video.as_ref().map_or(0, |v| v.frame_count);
        let from_session = self.session.as_ref().filter(|s| s.complete).map_or(0, |s| s.source.frame_count);
        if from_session > 0 {
            from_session
        } else {
            from_video
        }
    }

    fn time_of_frame(&self, index: u64) -> f64 {
        if let Some(record) = self.session.as_ref().and_then(|s| s.frame_by_index(index)) {
            return record.timestamp_s;
        }
        let fps = self.fps();
        if fps > 0.0 {
            index as f64 / fps
        } else {
            0.0
        }
    }

    fn duration_s(&self) -> f64 {
        let fps = self.fps();
        let from_count = if fps > 0.0 { self.frame_count() as f64 / fps } else { 0.0 };
        self.session.as_ref().map_or(0.0, Session::duration_s).max(from_count)
    }

    fn seek(&mut self, frame: u64) {
        let last = self.frame_count().saturating_sub(1);
        self.playhead.frame = frame.min(last);
        self.playhead.carry = 0.0;
    }

    // ---- draining the workers -------------------------------------------------

    fn poll_analysis(&mut self) {
        let Some(job) = &self.analysis else { return };
        let mut finished = false;
        let mut updates = Vec::new();
        while let Ok(message) = job.messages.try_recv() {
            updates.push(message);
        }
        for message in updates {
            match message {
                AnalysisMessage::Started { device, session } => {
                    self.analysis_device = Some(device);
                    self.merge_session(*session);
                }
                AnalysisMessage::Update { delta, progress } => {
                    self.apply_delta(delta);
                    self.progress = Some(progress);
                }
                AnalysisMessage::Finished { session, progress } => {
                    self.merge_session(*session);
                    self.progress = Some(progress);
                    finished = true;
                }
                AnalysisMessage::Failed { session, error } => {
                    if let Some(session) = session {
                        self.merge_session(*session);
                    }
                    self.error(format!("analysis stopped: {error} (the results so far are kept)"));
                    finished = true;
                }
                AnalysisMessage::Cancelled { session } => {
                    self.merge_session(*session);
                    self.notice("analysis cancelled (the results so far are kept)");
                    finished = true;
                }
            }
        }
        if finished {
            self.analysis = None;
        }
    }

    /// Brings the session up to date with a worker's changes; review edits
    /// the user made stay (the worker's events carry none, or the same).
    fn apply_delta(&mut self, mut delta: crate::timeline::SessionDelta) {
        let Some(session) = &mut self.session else { return };
        keep_reviews(session, &mut delta.events);
        session.apply_delta(delta);
        if self.selected_face.is_none() {
            self.selected_face = session.face_ids().first().copied();
        }
        self.session_revision += 1;
    }

    /// Takes a whole session from a worker, keeping review edits the user
    /// already made to events it had sent before.
    fn merge_session(&mut self, mut incoming: Session) {
        if let Some(current) = &self.session {
            keep_reviews(current, &mut incoming.events);
        }
        if self.selected_face.is_none() {
            self.selected_face = incoming.face_ids().first().copied();
        }
        self.set_session(Some(incoming));
    }

    fn poll_file_job(&mut self) {
        let Some(job) = &mut self.file_job else { return };
        let mut outcome = None;
        while let Ok(message) = job.messages.try_recv() {
            match message {
                JobMessage::Progress { done, total } => job.progress = Some((done, total)),
                JobMessage::Done { path } => outcome = Some(Ok(path)),
                JobMessage::Failed { error } => outcome = Some(Err(error)),
            }
        }
        let what = job.what.clone();
        match outcome {
            Some(Ok(path)) => {
                if what == "save session" {
                    self.dirty = false;
                }
                self.file_job = None;
                self.notice(format!("{what}: wrote {}", path.display()));
            }
            Some(Err(error)) => {
                self.file_job = None;
                self.error(format!("{what} failed: {error}"));
            }
            None => {}
        }
    }

    fn poll_decoder(&mut self, ctx: &egui::Context) {
        let wanted = self.playhead.frame;
        let Some(video) = &mut self.video else { return };
        let Some(decoder) = &video.decoder else { return };
        let mut failure = None;
        while let Ok(result) = decoder.frames.try_recv() {
            match result {
                Ok(frame) => {
                    match &mut video.texture {
                        Some(texture) => texture.set(frame.image, egui::TextureOptions::LINEAR),
                        None => {
                            video.texture =
                                Some(ctx.load_texture("video-frame", frame.image, egui::TextureOptions::LINEAR))
                        }
                    }
                    video.shown_index = Some(frame.index);
                }
                Err(e) => failure = Some(e),
            }
        }
        if video.requested_index != Some(wanted) {
            decoder.request(wanted);
            video.requested_index = Some(wanted);
        }
        if let Some(e) = failure {
            // Past-the-end reads happen when the container over-declares its
            // length; stop playing rather than flood the message list.
            self.playhead.playing = false;
            if !self.messages.iter().any(|(_, m)| m == &e) {
                self.error(e);
            }
        }
    }

    fn poll_file_dialog(&mut self) {
        let Some(dialog) = &self.file_dialog else { return };
        if let Ok(picked) = dialog.try_recv() {
            self.file_dialog = None;
            match picked {
                Some(path) => self.open_path(&path),
                // rfd answers "nothing picked" also when no desktop portal
                // is running, so say what else works.
                None => self.notice(
                    "no file chosen (if no dialog appeared, no XDG desktop portal is running: \
                     use File > Open by path, drop the file on the window, or pass it as `glimpse app FILE`)",
                ),
            }
        }
    }

    fn path_entry_window(&mut self, ctx: &egui::Context) {
        let Some(text) = &mut self.path_entry else { return };
        let (mut open, mut close) = (false, false);
        egui::Window::new("Open by path").collapsible(false).resizable(false).show(ctx, |ui| {
            ui.label("A video, an image folder or a session (.ron/.json):");
            let response =
                ui.add(egui::TextEdit::singleline(text).desired_width(420.0).hint_text("/path/to/video.mp4"));
            open = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            ui.horizontal(|ui| {
                open |= ui.button("Open").clicked();
                close = ui.button("Cancel").clicked();
            });
        });
        if open {
            let path = PathBuf::from(text.trim());
            self.path_entry = None;
            if path.exists() {
                self.open_path(&path);
            } else {
                self.error(format!("{}: no such file or folder", path.display()));
            }
        } else if close {
            self.path_entry = None;
        }
    }

    fn advance_playback(&mut self, ctx: &egui::Context) {
        if !self.playhead.playing {
            return;
        }
        let fps = self.fps();
        let last = self.frame_count().saturating_sub(1);
        if fps <= 0.0 || self.playhead.frame >= last {
            self.playhead.playing = false;
            return;
        }
        // Advance by wall time, but never past a frame not yet shown: a slow
        // decoder slows playback down instead of skipping frames unseen.
        let shown = self.video.as_ref().and_then(|v| v.shown_index);
        if shown == Some(self.playhead.frame) {
            let dt = f64::from(ctx.input(|i| i.stable_dt)).min(0.1);
            self.playhead.carry += dt * fps * f64::from(self.playhead.speed);
            let step = self.playhead.carry.floor();
            self.playhead.carry -= step;
            self.playhead.frame = (self.playhead.frame + step as u64).min(last);
        }
        ctx.request_repaint();
    }

    fn save_settings_if_changed(&mut self, ctx: &egui::Context) {
        // Not while a slider is being dragged: one write when it is let go.
        if self.settings == self.saved_settings || ctx.input(|i| i.pointer.any_down()) {
            return;
        }
        self.saved_settings = self.settings.clone();
        if let Some(path) = self.settings_path.clone() {
            if let Err(e) = save_settings(&self.settings, &path) {
                self.error(e.to_string());
            }
        }
    }

    fn pick_file(&mut self) {
        let (sender, receiver) = crossbeam_channel::bounded(1);
        let folder = self.settings.last_folder.clone();
        let wake = self.wake();
        // The dialog blocks its caller, so it gets its own thread.
        let spawned = std::thread::Builder::new().name("glimpse-file-dialog".into()).spawn(move || {
            let mut dialog = rfd::FileDialog::new()
                .set_title("Open a video or a Glimpse session")
                .add_filter("Videos and sessions", &["mp4", "avi", "mov", "mkv", "m4v", "webm", "ron", "json"]);
            if let Some(folder) = folder {
                dialog = dialog.set_directory(folder);
            }
            let _ = sender.send(dialog.pick_file());
            wake();
        });
        match spawned {
            Ok(_) => self.file_dialog = Some(receiver),
            Err(e) => self.error(format!("cannot open the file dialog: {e}")),
        }
    }

    /// Where saves and exports go: beside the video, named after it.
    fn output_stem(&self) -> Option<(PathBuf, String)> {
        let video = &self.video.as_ref()?.path;
        let dir = video.parent().map(Path::to_path_buf).unwrap_or_default();
        let stem = video.file_stem()?.to_string_lossy().into_owned();
        Some((dir, stem))
    }

    fn start_export(&mut self, format: ExportFormat) {
        let (Some(session), Some((dir, stem))) = (self.session.clone(), self.output_stem()) else { return };
        let path = export_path(&dir, &stem, format);
        match FileJob::export(session, format, &path, self.wake()) {
            Ok(job) => self.file_job = Some(job),
            Err(e) => self.error(format!("cannot start the export: {e}")),
        }
    }

    fn start_save(&mut self) {
        let (Some(session), Some((dir, stem))) = (self.session.clone(), self.output_stem()) else { return };
        let path = export_path(&dir, &stem, ExportFormat::Ron);
        match FileJob::save_session(session, &path, self.wake()) {
            Ok(job) => self.file_job = Some(job),
            Err(e) => self.error(format!("cannot start saving: {e}")),
        }
    }

    // ---- drawing --------------------------------------------------------------

    fn menu_bar(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("Open video or session…").clicked() {
                    self.pick_file();
                }
                if ui.button("Open by path…").on_hover_text("Type or paste a path (no desktop portal needed)").clicked()
                {
                    self.path_entry.get_or_insert_with(String::new);
                }
                let can_save = self.session.is_some() && self.file_job.is_none();
                if ui.add_enabled(can_save, egui::Button::new("Save session")).clicked() {
                    self.start_save();
                }
                ui.menu_button("Export", |ui| {
                    for format in ExportFormat::ALL {
                        let label = match format {
                            ExportFormat::Csv => "Per-frame CSV",
                            ExportFormat::Intervals => "Intervals CSV",
                            ExportFormat::Json => "Session JSON",
                            ExportFormat::Ron => "Session RON",
                            ExportFormat::Eaf => "ELAN (.eaf)",
                            ExportFormat::Video => "Annotated video (.mp4)",
                        };
                        if ui.add_enabled(can_save, egui::Button::new(label)).on_hover_text(format.suffix()).clicked() {
                            self.start_export(format);
                        }
                    }
                    if ui
                        .add_enabled(can_save && self.timeline_png.is_none(), egui::Button::new("Timeline (.png)"))
                        .on_hover_text(".timeline.png: the timeline as on screen")
                        .clicked()
                    {
                        self.export_timeline_png();
                    }
                });
            });
            ui.menu_button("Live", |ui| {
                ui.checkbox(&mut self.live_panel, "Live panel (camera, start / stop)");
                if ui.add_enabled(!self.live_running(), egui::Button::new("Start live session")).clicked() {
                    self.start_live();
                }
                let dir = self.live_dir().map(|d| d.display().to_string()).unwrap_or_default();
                ui.label(format!("Sessions, recordings and autosaves go to {dir}"));
            });
            ui.menu_button("Settings", |ui| self.settings_ui(ui));
            ui.separator();
            let title = match &self.video {
                Some(v) => format!("{}{}", v.path.display(), if self.dirty { " •" } else { "" }),
                None => "Drop a video or a session file here".into(),
            };
            ui.label(title);
        });
    }

    fn settings_ui(&mut self, ui: &mut egui::Ui) {
        ui.label("Device (next analysis)");
        if let Some(device) = self.device_override {
            ui.label(format!("(--device {device:?} on the command line wins this run)").to_lowercase());
        }
        ui.horizontal(|ui| {
            for (choice, name) in
                [(DeviceChoice::Auto, "auto"), (DeviceChoice::Cpu, "cpu"), (DeviceChoice::Cuda, "cuda")]
            {
                ui.radio_value(&mut self.settings.device, choice, name);
            }
        });
        ui.add(egui::Slider::new(&mut self.settings.sensitivity, 0.0..=1.0).text("spotting sensitivity"));
        let path = self.video.as_ref().map(|v| v.path.clone());
        if ui
            .add_enabled(path.is_some() && self.analysis.is_none(), egui::Button::new("Re-analyse with these settings"))
            .clicked()
        {
            if let Some(path) = path {
                self.set_session(None);
                self.start_analysis(&path);
            }
        }
        ui.separator();
        ui.checkbox(&mut self.settings.heatmap, "Attention heatmap");
        ui.add_enabled(
            self.settings.heatmap,
            egui::Slider::new(&mut self.settings.heatmap_opacity, 0.0..=1.0).text("opacity"),
        );
        ui.separator();
        ui.horizontal(|ui| {
            let before = self.settings.theme;
            ui.radio_value(&mut self.settings.theme, Theme::Dark, "dark");
            ui.radio_value(&mut self.settings.theme, Theme::Light, "light");
            if self.settings.theme != before {
                self.apply_theme();
            }
        });
    }

    fn status_panel(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let amber = on_panel(Color32::from_rgb(240, 190, 80), ui.visuals().dark_mode);
            ui.label(RichText::new(DISCLAIMER).italics().color(amber));
            if let Some(device) = &self.analysis_device {
                ui.separator();
                ui.label(format!("device: {device}"));
            }
        });
        if let Some(progress) = self.progress {
            let running = self.analysis.is_some();
            ui.horizontal(|ui| {
                let fraction =
                    progress.frames_total.filter(|&t| t > 0).map_or(0.0, |t| progress.frames_done as f32 / t as f32);
                let text = match (running, progress.eta_s()) {
                    (true, Some(eta)) => format!("analysing: {} frames, {:.0} s left", progress.frames_done, eta),
                    (true, None) => format!("analysing: {} frames", progress.frames_done),
                    (false, _) => format!("analysed {} frames in {:.1} s", progress.frames_done, progress.elapsed_s),
                };
                ui.add(egui::ProgressBar::new(if running { fraction } else { 1.0 }).text(text).desired_width(420.0));
                if running && ui.button("Cancel").clicked() {
                    if let Some(job) = &self.analysis {
                        job.cancel();
                    }
                }
            });
        }
        if let Some(job) = &self.file_job {
            let (done, total) = job.progress.unwrap_or((0, 0));
            let fraction = if total > 0 { done as f32 / total as f32 } else { 0.0 };
            ui.add(egui::ProgressBar::new(fraction).text(format!("{}… {done}/{total}", job.what)).desired_width(420.0));
        }
        let mut dismiss = None;
        for (i, (is_error, text)) in self.messages.iter().enumerate().rev().take(3) {
            ui.horizontal(|ui| {
                let colour = if *is_error {
                    on_panel(Color32::from_rgb(255, 110, 110), ui.visuals().dark_mode)
                } else {
                    ui.visuals().text_color()
                };
                ui.label(RichText::new(text).color(colour));
                if ui.small_button("x").clicked() {
                    dismiss = Some(i);
                }
            });
        }
        if let Some(i) = dismiss {
            self.messages.remove(i);
        }
    }

    fn transport(&mut self, ui: &mut egui::Ui) {
        let last = self.frame_count().saturating_sub(1);
        ui.horizontal(|ui| {
            if ui.button(if self.playhead.playing { "Pause" } else { "Play" }).clicked() {
                if self.playhead.frame >= last {
                    self.playhead.frame = 0;
                }
                self.playhead.playing = !self.playhead.playing;
            }
            if ui.button("< frame").on_hover_text("Step back one frame (Left)").clicked() {
                self.playhead.playing = false;
                self.seek(self.playhead.frame.saturating_sub(1));
            }
            if ui.button("frame >").on_hover_text("Step forward one frame (Right)").clicked() {
                self.playhead.playing = false;
                self.seek(self.playhead.frame + 1);
            }
            let current = self.playhead.frame;
            let event_frames: Vec<u64> = self
                .session
                .as_ref()
                .map(|s| {
                    let mut onsets: Vec<u64> = s.events.iter().map(|e| e.onset_frame).collect();
                    onsets.sort_unstable();
                    onsets
                })
                .unwrap_or_default();
            if ui.button("|< event").on_hover_text("Previous event").clicked() {
                if let Some(&f) = event_frames.iter().rev().find(|&&f| f < current) {
                    self.seek(f);
                }
            }
            if ui.button("event >|").on_hover_text("Next event").clicked() {
                if let Some(&f) = event_frames.iter().find(|&&f| f > current) {
                    self.seek(f);
                }
            }
            egui::ComboBox::from_id_salt("speed")
                .selected_text(format!("{}×", self.playhead.speed))
                .width(60.0)
                .show_ui(ui, |ui| {
                    for speed in SPEEDS {
                        ui.selectable_value(&mut self.playhead.speed, speed, format!("{speed}×"));
                    }
                });
            let mut frame = self.playhead.frame;
            let slider = egui::Slider::new(&mut frame, 0..=last.max(1)).show_value(false).trailing_fill(true);
            ui.spacing_mut().slider_width = (ui.available_width() - 190.0).max(100.0);
            if ui.add(slider).changed() {
                self.seek(frame);
            }
            ui.monospace(format!("{:7.2} s  f {}", self.time_of_frame(self.playhead.frame), self.playhead.frame));
        });
    }

    fn video_view(&mut self, ui: &mut egui::Ui) {
        let Some(video) = &self.video else {
            ui.centered_and_justified(|ui| {
                ui.heading("Open a video: File > Open, drag and drop, or `glimpse app VIDEO`");
            });
            return;
        };
        let Some(texture) = &video.texture else {
            ui.centered_and_justified(|ui| ui.spinner());
            return;
        };
        let [w, h] = texture.size();
        let available = ui.available_size();
        let scale = (available.x / w as f32).min(available.y / h as f32).max(0.05);
        let size = egui::vec2(w as f32 * scale, h as f32 * scale);
        let shown = video.shown_index.unwrap_or(0);
        let frame_width = if video.width > 0 { video.width as f32 } else { w as f32 };
        let image = egui::Image::new((texture.id(), size));
        ui.vertical_centered(|ui| {
            let response = ui.add(image);
            if let Some(session) = &self.session {
                let options = OverlayOptions {
                    heatmap: self.settings.heatmap,
                    heatmap_opacity: self.settings.heatmap_opacity,
                    hold_s: 0.0,
                };
                let painter = ui.painter_at(response.rect);
                draw_overlays(&painter, FrameToScreen::new(response.rect, frame_width), session, shown, &options);
            }
        });
        let _ = video.height;
    }

    fn face_picker(&mut self, ui: &mut egui::Ui) {
        let Some(session) = &self.session else { return };
        let ids = session.face_ids();
        ui.horizontal(|ui| {
            ui.label("Face:");
            for id in ids {
                ui.selectable_value(&mut self.selected_face, Some(id), format!("{id}"));
            }
        });
    }

    fn handle_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if let Some(path) = dropped.first() {
            self.open_path(path);
        }
    }

    fn handle_keys(&mut self, ctx: &egui::Context) {
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let (space, left, right) = ctx.input(|i| {
            (i.key_pressed(egui::Key::Space), i.key_pressed(egui::Key::ArrowLeft), i.key_pressed(egui::Key::ArrowRight))
        });
        if space {
            self.playhead.playing = !self.playhead.playing;
        }
        if left {
            self.playhead.playing = false;
            self.seek(self.playhead.frame.saturating_sub(1));
        }
        if right {
            self.playhead.playing = false;
            self.seek(self.playhead.frame + 1);
        }
    }

    /// A scripted live run: once the second event is on screen (held after
    /// its offset), shoot `live.png` and stop; the stopped session is then
    /// shot as a review like any other.
    fn run_live_script(&mut self, ctx: &egui::Context) {
        let shown_t = self
            .live
            .as_ref()
            .and_then(|l| l.shown_index)
            .and_then(|i| self.session.as_ref().and_then(|s| s.frame_by_index(i)).map(|f| f.timestamp_s));
        let event_on_screen = match (&self.session, shown_t) {
            (Some(session), Some(t)) => {
                session.events.len() >= 2 && session.events.iter().any(|e| (0.2..=2.0).contains(&(t - e.offset_s)))
            }
            _ => false,
        };
        let Some(script) = &mut self.script else { return };
        if event_on_screen {
            script.request_extra(ctx);
        }
        if let Some(written) = script.write_extra("live.png") {
            if let Err(e) = written {
                self.error(e.to_string());
            }
            self.handle_live_action(LiveAction::Stop);
        }
        ctx.request_repaint_after(std::time::Duration::from_millis(50));
    }

    fn run_script(&mut self, ctx: &egui::Context) {
        if self.script.is_some() && self.live.is_some() {
            return self.run_live_script(ctx);
        }
        let analysis_running = self.analysis.is_some();
        let strongest_apex = self.session.as_ref().and_then(|s| {
            s.events.iter().max_by(|a, b| a.score.total_cmp(&b.score)).map(|e| (e.apex_frame, e.face_id))
        });
        let shown = self.video.as_ref().and_then(|v| v.shown_index);
        let halfway = self.progress.and_then(|p| p.frames_total.map(|t| p.frames_done * 2 >= t)).unwrap_or(false);
        let Some(script) = &mut self.script else { return };
        if analysis_running && halfway {
            script.request_extra(ctx);
        }
        if let Some(Err(e)) = script.write_extra("during-analysis.png") {
            self.messages.push((true, e.to_string()));
        }
        match &mut script.stage {
            ScriptStage::WaitingForAnalysis => {
                if !analysis_running && self.session.is_some() {
                    let (frame, face) = strongest_apex.unwrap_or((0, 0));
                    if strongest_apex.is_some() {
                        self.selected_face = Some(face);
                    }
                    script.stage = ScriptStage::Seeking { frame, frames_shown: 0 };
                    self.playhead.playing = false;
                    self.seek(frame);
                } else if !analysis_running && self.video.is_none() {
                    // Nothing will ever arrive: report instead of waiting forever.
                    script.stage = ScriptStage::Done;
                    let errors: Vec<&str> = self.messages.iter().filter(|(e, _)| *e).map(|(_, m)| m.as_str()).collect();
                    if let Ok(mut outcome) = self.script_outcome.lock() {
                        *outcome = Some(Err(format!("no video could be opened: {}", errors.join("; "))));
                    }
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
            }
            ScriptStage::Seeking { frame, frames_shown } => {
                if shown == Some(*frame) {
                    *frames_shown += 1;
                }
                // A few frames on screen: layout and plot bounds have settled.
                if *frames_shown >= 5 {
                    let sender = script.image_sender.clone();
                    ctx.request_screenshot(move |image| {
                        let _ = sender.send(image);
                    });
                    script.stage = ScriptStage::Requested;
                }
            }
            ScriptStage::Requested => {
                if let Ok(image) = script.images.try_recv() {
                    let ppp = ctx.pixels_per_point();
                    let to_pixels = |r: egui::Rect| {
                        egui::Rect::from_min_max((r.min.to_vec2() * ppp).to_pos2(), (r.max.to_vec2() * ppp).to_pos2())
                    };
                    let shots = [
                        ("main.png", None),
                        ("timeline.png", self.timeline_rect.map(to_pixels)),
                        ("events.png", self.events_rect.map(to_pixels)),
                    ];
                    let mut written = std::mem::take(&mut script.written);
                    let mut failure = None;
                    for (name, crop) in shots {
                        let path = script.dir.join(name);
                        match write_png(&image, crop, &path) {
                            Ok(()) => written.push(path),
                            Err(e) => failure = Some(e.to_string()),
                        }
                    }
                    let errors: Vec<String> =
                        self.messages.iter().filter(|(e, _)| *e).map(|(_, m)| m.clone()).collect();
                    let outcome = match failure {
                        Some(e) => Err(e),
                        None if self.session.as_ref().is_some_and(|s| s.complete) => Ok(written),
                        None => Err(format!("the analysis did not complete: {}", errors.join("; "))),
                    };
                    if let Ok(mut slot) = self.script_outcome.lock() {
                        *slot = Some(outcome);
                    }
                    script.stage = ScriptStage::Done;
                    if script.exit_after {
                        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                    }
                }
                ctx.request_repaint();
            }
            ScriptStage::Done => {}
        }
        if !matches!(self.script.as_ref().map(|s| &s.stage), Some(ScriptStage::Done) | None) {
            ctx.request_repaint_after(std::time::Duration::from_millis(50));
        }
    }
}

/// The reviewer's verdicts from `current` on the same events in `incoming`
/// (a worker's copy of an event carries none, or an older one).
fn keep_reviews(current: &Session, incoming: &mut [crate::timeline::Event]) {
    for event in incoming {
        if let Some(old) = current.events.iter().find(|e| e.id == event.id) {
            event.review = old.review.clone();
        }
    }
}

/// Live sessions, crash recovery, the timeline PNG and the UI bench.
impl GlimpseApp {
    fn start_live(&mut self) {
        if self.live_running() {
            return;
        }
        let Some(out_dir) = self.live_dir() else {
            self.error("no $XDG_DATA_HOME or $HOME to keep live sessions in");
            return;
        };
        let (open, source_name): (OpenFeed, String) = match &self.live_source {
            LiveSource::File(path) => {
                (open_paced_file(path.clone()), format!("{} (played as a camera)", path.display()))
            }
            LiveSource::Camera => {
                let request = self.settings.camera.clone();
                let name = format!(
                    "camera {} ({}×{} {} at {} fps asked)",
                    request.index,
                    request.width,
                    request.height,
                    if request.prefer_mjpeg { "MJPEG" } else { "YUYV" },
                    request.fps
                );
                (open_camera(request), name)
            }
        };
        let mut options = self.options.clone();
        options.spotting = options.spotting.with_sensitivity(self.settings.sensitivity);
        let config = LiveConfig {
            options,
            device: self.device_override.unwrap_or(self.settings.device),
            out_dir,
            name: session_name_now(),
            record: self.settings.record_live,
            autosave_every: AUTOSAVE_EVERY,
        };
        // A live session replaces whatever was being reviewed.
        self.analysis = None;
        self.progress = None;
        self.video = None;
        self.set_session(None);
        self.selected_face = None;
        self.dirty = false;
        match LiveJob::start(open, config, self.wake()) {
            Ok(job) => {
                self.live = Some(LiveView::new(Some(job), source_name));
                self.live_panel = true;
            }
            Err(e) => self.error(format!("cannot start the live worker: {e}")),
        }
    }

    fn live_command(&mut self, command: LiveCommand) {
        if let Some(job) = self.live.as_ref().and_then(|l| l.job.as_ref()) {
            job.send(command);
        }
    }

    fn handle_live_action(&mut self, action: LiveAction) {
        match action {
            LiveAction::Start => self.start_live(),
            LiveAction::Pause => self.live_command(LiveCommand::Pause),
            LiveAction::Resume => self.live_command(LiveCommand::Resume),
            LiveAction::Retry => {
                if let Some(live) = &mut self.live {
                    live.lost = None;
                }
                self.live_command(LiveCommand::Retry);
            }
            LiveAction::Stop => {
                self.live_command(LiveCommand::Stop);
                if let Some(live) = &mut self.live {
                    live.stopping = true;
                }
            }
            LiveAction::RefreshCameras => self.cameras.refresh(self.wake()),
        }
    }

    fn poll_live(&mut self, ctx: &egui::Context) {
        let Some(live) = &mut self.live else { return };
        let Some(job) = &live.job else { return };
        let messages: Vec<LiveMessage> = job.messages.try_iter().collect();
        live.fresh_capture = None;
        let mut ended = None;
        for message in messages {
            let Some(live) = &mut self.live else { return };
            match message {
                LiveMessage::Started { device, info, paths, session } => {
                    live.device = Some(device.clone());
                    live.paths = Some(paths);
                    live.frame_width = info.width as f32;
                    if let Some(bench) = &mut self.bench {
                        bench.device = device;
                    }
                    self.set_session(Some(*session));
                }
                LiveMessage::Update { preview, delta, stats } => {
                    live.stats = stats;
                    if let Some(preview) = preview {
                        let image =
                            egui::ColorImage::from_rgba_unmultiplied([preview.width, preview.height], &preview.rgba);
                        match &mut live.texture {
                            Some(texture) => texture.set(image, egui::TextureOptions::LINEAR),
                            None => {
                                live.texture = Some(ctx.load_texture("live-frame", image, egui::TextureOptions::LINEAR))
                            }
                        }
                        live.shown_index = preview.index;
                        live.fresh_capture = Some(preview.captured_at);
                    }
                    self.apply_delta(delta);
                }
                LiveMessage::SourceLost { error } => live.lost = Some(error),
                LiveMessage::SourceBack => {
                    live.lost = None;
                    self.notice("the source is back; the session goes on");
                }
                LiveMessage::Warning(warning) => self.error(warning),
                LiveMessage::Stopped { session, saved, recording } => {
                    ended = Some((Some(*session), Some(saved), recording, None));
                }
                LiveMessage::Failed { error, session } => {
                    ended = Some((session.map(|s| *s), None, None, Some(error)));
                }
            }
        }
        if let Some((session, saved, recording, failure)) = ended {
            self.live_ended(session, saved, recording, failure);
        }
    }

    /// The worker is done: the session stays for review, over its recording.
    fn live_ended(
        &mut self,
        session: Option<Session>,
        saved: Option<Result<PathBuf, String>>,
        recording: Option<Result<u64, String>>,
        failure: Option<String>,
    ) {
        let stats = self.live.as_ref().map(|l| l.stats).unwrap_or_default();
        self.live = None;
        match (failure, &session) {
            (Some(error), Some(_)) => {
                self.error(format!("the live session stopped: {error} (the frames analysed so far are kept)"))
            }
            (Some(error), None) => self.error(format!("the live session could not start: {error}")),
            (None, _) => {}
        }
        match &saved {
            Some(Ok(path)) => self.notice(format!("live session saved: {}", path.display())),
            Some(Err(e)) => {
                self.error(format!("the live session could not be saved ({e}); its autosave journal is kept"))
            }
            None => {}
        }
        if let Some(session) = session {
            self.merge_session(session);
        }
        if let Some(Ok(_)) = recording {
            if let Some(path) = self.session.as_ref().map(|s| PathBuf::from(&s.source.path)) {
                self.open_video(&path);
            }
        }
        self.dirty = matches!(saved, Some(Err(_)));
        self.finish_bench(stats);
    }

    fn poll_recovery(&mut self) {
        let Some(result) = self.recovery.as_ref().and_then(|r| r.try_recv().ok()) else { return };
        self.recovery = None;
        match result {
            Ok(recovered) => {
                self.notice(recovered.summary.clone());
                self.open_path(&recovered.saved);
            }
            Err(e) => self.error(e),
        }
    }

    fn recover(&mut self, journal: PathBuf) {
        self.unfinished.retain(|j| j != &journal);
        let (sender, receiver) = crossbeam_channel::bounded(1);
        let wake = self.wake();
        // Replaying hours of journal takes a moment: not on the UI thread.
        let spawned = std::thread::Builder::new().name("glimpse-recover".into()).spawn(move || {
            let _ = sender.send(recover_session(&journal).map_err(|e| e.to_string()));
            wake();
        });
        match spawned {
            Ok(_) => self.recovery = Some(receiver),
            Err(e) => self.error(format!("cannot start the recovery: {e}")),
        }
    }

    /// Sets a journal aside without deleting it (the user may change their mind).
    fn discard_journal(&mut self, journal: PathBuf) {
        self.unfinished.retain(|j| j != &journal);
        let kept = journal.with_extension("journal.discarded");
        match std::fs::rename(&journal, &kept) {
            Ok(()) => self.notice(format!("set aside as {}", kept.display())),
            Err(e) => self.error(format!("cannot set {} aside: {e}", journal.display())),
        }
    }

    fn recovery_banner(&mut self, ui: &mut egui::Ui) {
        let Some(journal) = self.unfinished.first().cloned() else { return };
        let mut action = None;
        ui.horizontal(|ui| {
            let amber = on_panel(Color32::from_rgb(240, 190, 80), ui.visuals().dark_mode);
            ui.label(
                RichText::new(format!(
                    "A live session did not close properly ({}). Its autosave can restore it.",
                    journal.file_name().unwrap_or_default().to_string_lossy()
                ))
                .color(amber),
            );
            if ui.add_enabled(self.recovery.is_none(), egui::Button::new("Recover")).clicked() {
                action = Some(true);
            }
            if ui.button("Set aside").on_hover_text("Renamed to .journal.discarded, not deleted").clicked() {
                action = Some(false);
            }
        });
        match action {
            Some(true) => self.recover(journal),
            Some(false) => self.discard_journal(journal),
            None => {}
        }
    }

    /// Asks for a screenshot; the timeline part of it becomes the PNG.
    fn export_timeline_png(&mut self) {
        let Some((dir, stem)) = self.output_stem() else { return };
        let path = dir.join(format!("{stem}.timeline.png"));
        let (sender, receiver) = crossbeam_channel::bounded(1);
        self.ctx.request_screenshot(move |image| {
            let _ = sender.send(image);
        });
        self.timeline_png = Some((path, receiver));
    }

    fn poll_timeline_png(&mut self) {
        let Some((_, images)) = &self.timeline_png else { return };
        let Ok(image) = images.try_recv() else { return };
        let Some((path, _)) = self.timeline_png.take() else { return };
        let Some(rect) = self.timeline_rect else { return };
        let ppp = self.ctx.pixels_per_point();
        let crop = egui::Rect::from_min_max((rect.min.to_vec2() * ppp).to_pos2(), (rect.max.to_vec2() * ppp).to_pos2());
        match FileJob::png(image, Some(crop), &path, self.wake()) {
            Ok(job) => self.file_job = Some(job),
            Err(e) => self.error(format!("cannot start writing the timeline PNG: {e}")),
        }
    }

    fn bench_frame(&mut self, frame: &eframe::Frame) {
        let fresh = self.live.as_ref().and_then(|l| l.fresh_capture.filter(|_| l.shown_index.is_some()));
        let Some(bench) = &mut self.bench else { return };
        let now = std::time::Instant::now();
        if self.live.as_ref().is_some_and(|l| l.texture.is_some()) {
            bench.started.get_or_insert(now);
            if let Some(last) = bench.last_frame {
                bench.samples.frame_interval_ms.push(now.duration_since(last).as_secs_f32() * 1e3);
            }
            bench.last_frame = Some(now);
            if let Some(cpu) = frame.info().cpu_usage {
                bench.samples.frame_cpu_ms.push(cpu * 1e3);
            }
        }
        if let Some(captured_at) = fresh {
            bench.samples.capture_to_overlay_ms.push(now.duration_since(captured_at).as_secs_f32() * 1e3);
        }
    }

    fn finish_bench(&mut self, stats: crate::pipeline::live::LiveStats) {
        let Some(mut bench) = self.bench.take() else { return };
        bench.samples.wall_s = match (bench.started, bench.last_frame) {
            (Some(first), Some(last)) => last.duration_since(first).as_secs_f64(),
            _ => 0.0,
        };
        let clip = self.live_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        let report = crate::bench::ui::summarize(
            &bench.samples,
            &clip,
            &bench.device,
            stats.capture_fps,
            stats.analysed,
            stats.dropped,
        );
        let outcome = serde_json::to_vec_pretty(&report)
            .map_err(|e| e.to_string())
            .and_then(|json| crate::io::write_atomic(&bench.out, &json).map_err(|e| e.to_string()))
            .map(|()| vec![bench.out.clone()]);
        if let Ok(mut slot) = self.script_outcome.lock() {
            *slot = Some(outcome);
        }
        self.ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }

    fn live_view(&mut self, ui: &mut egui::Ui) {
        let Some(live) = &self.live else { return };
        let Some(texture) = &live.texture else {
            ui.centered_and_justified(|ui| {
                ui.spinner();
            });
            return;
        };
        let [w, h] = texture.size();
        let available = ui.available_size();
        let scale = (available.x / w as f32).min(available.y / h as f32).max(0.05);
        let image = egui::Image::new((texture.id(), egui::vec2(w as f32 * scale, h as f32 * scale)));
        let frame_width = if live.frame_width > 0.0 { live.frame_width } else { w as f32 };
        ui.vertical_centered(|ui| {
            let response = ui.add(image);
            if let (Some(session), Some(index)) = (&self.session, live.shown_index) {
                let options = OverlayOptions {
                    heatmap: self.settings.heatmap,
                    heatmap_opacity: self.settings.heatmap_opacity,
                    hold_s: LIVE_EVENT_HOLD_S,
                };
                let painter = ui.painter_at(response.rect);
                draw_overlays(&painter, FrameToScreen::new(response.rect, frame_width), session, index, &options);
            }
            if live.stats.paused {
                let painter = ui.painter_at(response.rect);
                painter.text(
                    response.rect.center_top() + egui::vec2(0.0, 24.0),
                    egui::Align2::CENTER_CENTER,
                    "PAUSED: not analysed, not recorded",
                    egui::FontId::proportional(20.0),
                    Color32::from_rgb(240, 190, 80),
                );
            }
        });
    }
}

impl eframe::App for GlimpseApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.poll_analysis();
        self.poll_live(&ctx);
        self.poll_recovery();
        self.poll_file_job();
        self.poll_file_dialog();
        self.poll_timeline_png();
        self.cameras.poll();
        self.handle_dropped_files(&ctx);
        self.handle_keys(&ctx);
        self.advance_playback(&ctx);
        self.poll_decoder(&ctx);

        egui::Panel::top("menu").show(ui, |ui| self.menu_bar(ui));
        egui::Panel::bottom("status").show(ui, |ui| {
            self.recovery_banner(ui);
            self.status_panel(ui);
        });
        if self.live_panel {
            egui::Panel::left("live").resizable(true).default_size(300.0).show(ui, |ui| {
                let action = live_panel_ui(
                    ui,
                    &mut self.settings,
                    &mut self.live_source,
                    self.live_file.as_ref(),
                    &self.cameras,
                    self.live.as_ref(),
                );
                if let Some(action) = action {
                    self.handle_live_action(action);
                }
            });
        }
        egui::Panel::bottom("events").resizable(true).min_size(150.0).default_size(200.0).show(ui, |ui| {
            self.events_rect = Some(ui.max_rect());
            ui.horizontal(|ui| {
                ui.heading("Events");
                self.face_picker(ui);
            });
            let output = match &self.session {
                Some(session) => {
                    let selected = session
                        .events
                        .iter()
                        .find(|e| (e.onset_frame..=e.offset_frame).contains(&self.playhead.frame))
                        .map(|e| e.id);
                    Some(event_list_ui(ui, session, selected))
                }
                None => {
                    ui.label("No session yet.");
                    None
                }
            };
            if let Some(output) = output {
                if let Some(session) = &mut self.session {
                    for edit in &output.edits {
                        if apply_review_edit(session, edit) {
                            self.dirty = true;
                            self.session_revision += 1;
                            // A live session's worker keeps the session it
                            // saves and autosaves: it gets the verdict too.
                            let job = self.live.as_ref().and_then(|l| l.job.as_ref());
                            if let (Some(job), Some(event)) =
                                (job, session.events.iter().find(|e| e.id == edit.event_id()))
                            {
                                job.send(LiveCommand::Review { event_id: event.id, review: event.review.clone() });
                            }
                        }
                    }
                }
                if let Some(frame) = output.seek_to.filter(|_| self.live.is_none()) {
                    self.playhead.playing = false;
                    self.seek(frame);
                }
            }
        });
        egui::Panel::bottom("timeline").resizable(true).min_size(210.0).default_size(230.0).show(ui, |ui| {
            self.timeline_rect = Some(ui.max_rect());
            let live = self.live.is_some();
            let (playhead_s, view) = if live {
                // The live timeline scrolls: the last minute, playhead at now.
                let now = self.session.as_ref().and_then(|s| s.frames.last()).map_or(0.0, |f| f.timestamp_s);
                (now, ((now - LIVE_TIMELINE_S).max(0.0), now.max(LIVE_TIMELINE_S)))
            } else {
                self.transport(ui);
                (self.time_of_frame(self.playhead.frame), (0.0, self.duration_s()))
            };
            let (fps, count) = (self.fps(), self.frame_count());
            let clicked = match &self.session {
                Some(session) => timeline_ui(
                    ui,
                    session,
                    self.session_revision,
                    &mut self.timeline_lines,
                    self.selected_face,
                    playhead_s,
                    view,
                ),
                None => None,
            };
            if let Some(t) = clicked.filter(|_| !live) {
                self.playhead.playing = false;
                self.seek(frame_at_time(t, fps, count));
            }
        });
        egui::CentralPanel::default().show(ui, |ui| {
            if self.live.is_some() {
                self.live_view(ui);
            } else {
                self.video_view(ui);
            }
        });

        self.path_entry_window(&ctx);
        self.save_settings_if_changed(&ctx);
        self.run_script(&ctx);
        self.bench_frame(frame);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        // A live session is saved before the process ends (the journal
        // would restore it otherwise, but a clean save is better).
        if let Some(job) = self.live.as_mut().and_then(|l| l.job.take()) {
            job.stop_and_wait();
        }
    }
}
