//! `GlimpseApp`: one window for reviewing recorded videos and running live
//! sessions. Its state is split by concern, as egui's demo does: the
//! session on screen (`Document`), the mode (`Review` or `Live`, each with
//! its own state), notices, file work, and each panel in its own module.
//! Heavy work runs elsewhere (analysis, decoding, saving each on their own
//! thread); `logic` drains their channels first, then `ui` only draws.
use std::path::{Path, PathBuf};

use eframe::egui;

use super::document::Document;
use super::files::{output_stem, Files, Picked};
use super::layout::{fit_to_screen, PanelHeights};
use super::live_panel::{live_panel_ui, CameraList, LiveAction, LivePanel, LiveSource, LiveView};
use super::live_session::{open_live_source, LiveEnded};
use super::menu::{menu_bar, MenuAction, MenuState};
use super::notice_area::{notice_area, NoticeAction};
use super::notices::Notices;
use super::recovery::Recovery;
use super::review::ReviewMode;
use super::session_panels::{events_panel, timeline_panel};
use super::settings::{load_settings, save_settings, settings_path, Settings, Theme};
use super::status::{status_ui, Status};
use super::AppLaunch;
use crate::device::{ChosenDevice, DeviceChoice, ThreadUse};
use crate::pipeline::live_run::{session_name_now, LiveSettings, LiveStats};
use crate::pipeline::{AnalysisOptions, AnalysisRun, RunCommand, RunSource};
use crate::session::Session;

/// How often a live session's journal is synced to disk.
const AUTOSAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// What the window is doing.
pub enum Mode {
    /// A recorded video (or nothing yet), perhaps being analysed.
    Review(ReviewMode),
    /// A live session, running or being saved.
    Live(LiveView),
}

pub struct GlimpseApp {
    pub(super) settings: Settings,
    /// As last written to disk.
    saved_settings: Settings,
    settings_path: Option<PathBuf>,
    options: AnalysisOptions,
    pub(super) device: ChosenDevice,
    /// The settings' device when `device` was chosen.
    device_setting: DeviceChoice,
    pub(super) doc: Document,
    pub(super) mode: Mode,
    pub(super) notices: Notices,
    pub(super) files: Files,
    pub(super) live_panel: LivePanel,
    recovery: Recovery,
    /// Screen rectangles of the parts the screenshots and the timeline PNG crop.
    pub(super) timeline_rect: Option<egui::Rect>,
    pub(super) events_rect: Option<egui::Rect>,
    pub(super) video_rect: Option<egui::Rect>,
    /// The window has been checked against the screen (once, when the
    /// platform first says how big the screen is).
    pub(super) fitted_to_screen: bool,
    /// The last stats of a live session that has just ended (the UI bench
    /// takes them).
    pub(super) live_ended: Option<LiveStats>,
    ctx: egui::Context,
}

impl GlimpseApp {
    pub fn new(ctx: &egui::Context, launch: AppLaunch) -> Self {
        let settings_path = settings_path();
        let loaded = settings_path.as_deref().map(load_settings);
        let (settings, warning) = match loaded {
            Some(loaded) => (loaded.settings, loaded.warning),
            None => {
                (Settings::default(), Some("no config folder ($XDG_CONFIG_HOME, $HOME): settings are not kept".into()))
            }
        };
        let mut notices = Notices::with_error(warning);
        if let Some(problem) = &launch.device.problem {
            notices.error(format!("{problem}; running on the CPU"));
        }
        let live_panel = LivePanel {
            visible: launch.start_live || launch.live_file.is_some(),
            source: launch.live_file.clone().map_or(LiveSource::Camera, LiveSource::File),
            file: launch.live_file,
            cameras: CameraList::default(),
            dir_override: launch.live_dir,
            last_end: None,
        };
        let mut app = Self {
            saved_settings: settings.clone(),
            device_setting: settings.device,
            recovery: Recovery::find(live_panel.dir(&settings)),
            settings,
            settings_path,
            options: launch.options,
            device: launch.device,
            doc: Document::default(),
            mode: Mode::Review(ReviewMode::default()),
            notices,
            files: Files::default(),
            live_panel,
            timeline_rect: None,
            events_rect: None,
            video_rect: None,
            fitted_to_screen: false,
            live_ended: None,
            ctx: ctx.clone(),
        };
        app.apply_theme();
        app.live_panel.cameras.refresh(app.wake());
        if let Some(video) = launch.video {
            app.open_path(&video);
        }
        if launch.start_live || launch.bench_ui.is_some() {
            app.start_live();
        }
        app
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

    /// The options of the next run: the command line's, at the settings' sensitivity.
    fn run_options(&self) -> AnalysisOptions {
        let mut options = self.options.clone();
        options.spotting = options.spotting.with_sensitivity(self.settings.sensitivity);
        options
    }

    /// Back to review mode (a fresh review) after a live session.
    fn enter_review(&mut self) {
        if let Mode::Live(live) = &self.mode {
            self.mode = Mode::Review(ReviewMode::with_speed(live.review_speed));
        }
    }

    /// A session file (.ron/.json) is loaded and its source opened for
    /// playback; anything else is taken for a video and analysed.
    fn open_path(&mut self, path: &Path) {
        if matches!(self.mode, Mode::Live(_)) {
            self.notices.notice(format!("stop the live session before opening {}", path.display()));
            return;
        }
        // Absolute, so the dialog finds it again from any working directory.
        let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(folder) = absolute.parent().filter(|p| !p.as_os_str().is_empty()) {
            self.settings.last_folder = Some(folder.to_path_buf());
        }
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
        let wake = self.wake();
        if ext == "ron" || ext == "json" {
            match Session::load(path) {
                Ok(session) => {
                    let source = PathBuf::from(&session.source.path);
                    self.enter_review();
                    let Self { mode: Mode::Review(review), notices, doc, .. } = self else { return };
                    review.analysis = None;
                    review.open_video(&source, wake, notices);
                    doc.selected_face = session.face_ids().first().copied();
                    doc.set_session(Some(session));
                    doc.dirty = false;
                    notices.notice(format!("loaded session {}", path.display()));
                }
                Err(e) => self.notices.error(crate::error_text::error_chain(&e)),
            }
            return;
        }
        self.enter_review();
        let Self { mode: Mode::Review(review), notices, doc, .. } = self else { return };
        review.open_video(path, wake, notices);
        doc.set_session(None);
        doc.dirty = false;
        self.start_analysis(path);
    }

    fn start_analysis(&mut self, path: &Path) {
        let (options, wake) = (self.run_options(), self.wake());
        let Self { mode: Mode::Review(review), notices, device, .. } = self else { return };
        review.start_analysis(path, options, device.device, wake, notices);
    }

    fn start_live(&mut self) {
        if matches!(self.mode, Mode::Live(_)) {
            return;
        }
        let Some(out_dir) = self.live_panel.dir(&self.settings) else {
            self.notices.error("no $XDG_DATA_HOME or $HOME to keep live sessions in");
            return;
        };
        let (open, source_name) = open_live_source(&self.live_panel.source, &self.settings.camera);
        let settings = LiveSettings {
            out_dir,
            name: session_name_now(),
            record: self.settings.record_live,
            autosave_every: AUTOSAVE_EVERY,
        }
        .with_free_name();
        // A live session replaces whatever was being reviewed.
        let Mode::Review(review) = &self.mode else { return };
        let speed = review.playhead.speed;
        self.mode = Mode::Review(ReviewMode::with_speed(speed));
        self.doc.clear();
        let source = RunSource::Live { open, settings };
        match AnalysisRun::start(source, self.run_options(), self.device.device, self.wake()) {
            Ok(run) => {
                let mut view = LiveView::new(Some(run), source_name);
                view.device = Some(self.device.line.clone());
                view.review_speed = speed;
                self.mode = Mode::Live(view);
                self.live_panel.visible = true;
                self.live_panel.last_end = None;
            }
            Err(e) => self.notices.error(format!("cannot start the live worker: {e}")),
        }
    }

    pub(super) fn handle_live_action(&mut self, action: LiveAction) {
        let live = match &mut self.mode {
            Mode::Live(live) => Some(live),
            Mode::Review(_) => None,
        };
        let send = |live: Option<&mut LiveView>, command| {
            if let Some(run) = live.and_then(|l| l.run.as_ref()) {
                run.send(command);
            }
        };
        match action {
            LiveAction::Start => self.start_live(),
            LiveAction::Pause => send(live, RunCommand::Pause),
            LiveAction::Resume => send(live, RunCommand::Resume),
            LiveAction::Retry => {
                if let Some(live) = live {
                    live.lost = None;
                    send(Some(live), RunCommand::Retry);
                }
            }
            LiveAction::Stop => {
                if let Some(live) = live {
                    send(Some(&mut *live), RunCommand::Stop);
                    live.stopping = true;
                }
            }
            LiveAction::RefreshCameras => self.live_panel.cameras.refresh(self.wake()),
        }
    }

    /// The live session is over and saved: it stays for review, over its recording.
    fn end_live(&mut self, ended: LiveEnded) {
        let LiveEnded { session, saved, recording, failure, stats, unsaved_reviews, source_ended } = ended;
        self.enter_review();
        self.live_panel.last_end = Some(
            match (&failure, source_ended) {
                (Some(_), _) => "The session stopped on an error.",
                (None, true) => "The clip ended; so did the session.",
                (None, false) => "The session was stopped.",
            }
            .into(),
        );
        if source_ended && failure.is_none() {
            self.notices.notice("the clip ended: the live session is over");
        }
        match (failure, &session) {
            (Some(error), Some(_)) => {
                self.notices.error(format!("the live session stopped: {error} (the frames analysed so far are kept)"))
            }
            (Some(error), None) => self.notices.error(format!("the live session could not start: {error}")),
            (None, _) => {}
        }
        match &saved {
            Some(Ok(path)) => self.notices.notice(format!("live session saved: {}", path.display())),
            Some(Err(e)) => {
                self.notices.error(format!("the live session could not be saved ({e}); its autosave journal is kept"))
            }
            None => {}
        }
        if let Some(session) = session {
            self.doc.take_session(session);
        }
        if let Some(Ok(_)) = recording {
            if let Some(path) = self.doc.session.as_ref().map(|s| PathBuf::from(&s.source.path)) {
                let wake = self.wake();
                let Self { mode: Mode::Review(review), notices, .. } = self else { return };
                review.open_video(&path, wake, notices);
            }
        }
        self.doc.dirty = matches!(saved, Some(Err(_))) || unsaved_reviews;
        self.live_ended = Some(stats);
    }

    fn on_menu(&mut self, action: MenuAction) {
        let wake = self.wake();
        let stem = match &self.mode {
            Mode::Review(review) => review.video.as_ref().and_then(|v| output_stem(&v.path)),
            Mode::Live(_) => None,
        };
        match action {
            MenuAction::PickFile => self.files.pick_file(self.settings.last_folder.clone(), wake, &mut self.notices),
            MenuAction::OpenByPath => {
                self.files.path_entry.get_or_insert_with(String::new);
            }
            MenuAction::Save | MenuAction::Export(_) => {
                let (Some(session), Some(stem)) = (self.doc.session.clone(), stem) else { return };
                match action {
                    MenuAction::Export(format) => self.files.export(session, format, stem, wake, &mut self.notices),
                    _ => self.files.save(session, stem, wake, &mut self.notices),
                }
            }
            MenuAction::TimelinePng => {
                let Some((dir, stem)) = stem else { return };
                self.files.export_timeline_png(&self.ctx, dir.join(format!("{stem}.timeline.png")));
            }
            MenuAction::StartLive => self.start_live(),
            MenuAction::Reanalyse => {
                let Mode::Review(review) = &self.mode else { return };
                if let Some(path) = review.video.as_ref().map(|v| v.path.clone()) {
                    self.doc.set_session(None);
                    self.start_analysis(&path);
                }
            }
            MenuAction::ApplyTheme => self.apply_theme(),
        }
    }

    fn open_picked(&mut self, picked: Picked) {
        match picked {
            Picked::Path(path) => self.open_path(&path),
            Picked::Nothing(why) => self.notices.notice(why),
            Picked::Missing(path) => self.notices.error(format!("{}: no such file or folder", path.display())),
        }
    }

    /// The settings' device, chosen again when the user changed it (the
    /// command line's `--device` wins for the whole run).
    fn follow_device_setting(&mut self) {
        if self.settings.device == self.device_setting || self.device.flag.is_some() {
            return;
        }
        self.device_setting = self.settings.device;
        match ChosenDevice::choose(self.settings.device, None, ThreadUse::Pipeline) {
            Ok(chosen) => self.device = chosen,
            Err(e) => self.notices.error(format!("{e}; still on {}", self.device.line)),
        }
    }

    /// A window larger than the screen (the platform says how big once the
    /// window is open) is shrunk to fit, status line included.
    fn fit_to_screen(&mut self, ctx: &egui::Context) {
        if self.fitted_to_screen {
            return;
        }
        let (monitor, inner) = ctx.input(|i| (i.viewport().monitor_size, i.viewport().inner_rect));
        let Some(monitor) = monitor else { return };
        self.fitted_to_screen = true;
        if let Some(size) = inner.and_then(|inner| fit_to_screen(inner.size(), monitor)) {
            ctx.send_viewport_cmd(egui::ViewportCommand::InnerSize(size));
        }
    }

    fn save_settings_if_changed(&mut self, ctx: &egui::Context) {
        // Not while a slider is being dragged: one write when it is let go.
        if self.settings == self.saved_settings || ctx.input(|i| i.pointer.any_down()) {
            return;
        }
        self.saved_settings = self.settings.clone();
        if let Some(path) = self.settings_path.clone() {
            if let Err(e) = save_settings(&self.settings, &path) {
                self.notices.error(crate::error_text::error_chain(&e));
            }
        }
    }
}

impl eframe::App for GlimpseApp {
    /// Every channel is drained here, before anything is drawn.
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.follow_device_setting();
        match &mut self.mode {
            Mode::Review(review) => {
                review.poll_analysis(&mut self.doc, &mut self.notices);
                review.handle_keys(ctx, self.doc.session.as_ref());
                review.advance_playback(ctx, self.doc.session.as_ref());
                review.poll_decoder(ctx, &mut self.notices);
            }
            Mode::Live(live) => {
                if let Some(ended) = live.poll(ctx, &mut self.doc, &mut self.notices) {
                    self.end_live(ended);
                }
            }
        }
        if let Some(result) = self.recovery.poll() {
            match result {
                Ok(recovered) => {
                    self.notices.notice(recovered.summary.clone());
                    self.open_path(&recovered.saved);
                }
                Err(e) => self.notices.error(e),
            }
        }
        if self.files.poll_job(&mut self.notices) {
            self.doc.dirty = false;
        }
        if let Some(picked) = self.files.poll_dialog() {
            self.open_picked(picked);
        }
        let wake = self.wake();
        self.files.poll_timeline_png(ctx, self.timeline_rect, wake, &mut self.notices);
        self.live_panel.cameras.poll();
        let dropped = ctx.input(|i| i.raw.dropped_files.first().map(|f| f.path().to_path_buf()));
        if let Some(path) = dropped {
            self.open_path(&path);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        let live_running = matches!(self.mode, Mode::Live(_));
        let (video, analysing, progress) = match &self.mode {
            Mode::Review(review) => {
                (review.video.as_ref().map(|v| v.path.clone()), review.analysis.is_some(), review.progress)
            }
            Mode::Live(_) => (None, false, None),
        };
        let live_dir = self.live_panel.dir(&self.settings).map(|d| d.display().to_string()).unwrap_or_default();
        egui::Panel::top("menu").show(ui, |ui| {
            let state = MenuState {
                live_panel: &mut self.live_panel.visible,
                device: &self.device,
                can_save: self.doc.session.is_some() && self.files.job.is_none(),
                can_write_png: !self.files.png_pending(),
                live_running,
                can_reanalyse: video.is_some() && !analysing,
                live_dir,
                title: match &video {
                    Some(path) => format!("{}{}", path.display(), if self.doc.dirty { " •" } else { "" }),
                    None => "Drop a video or a session file here".into(),
                },
                settings: &mut self.settings,
            };
            let can_save = state.can_save;
            let shortcut = |ui: &egui::Ui, key| {
                ui.input_mut(|i| i.consume_shortcut(&egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, key)))
            };
            // Ctrl+S and Ctrl+O do what the File menu's Save and Open do.
            let keyed = if shortcut(ui, egui::Key::S) && can_save {
                Some(MenuAction::Save)
            } else if shortcut(ui, egui::Key::O) {
                Some(MenuAction::PickFile)
            } else {
                None
            };
            if let Some(action) = menu_bar(ui, state).or(keyed) {
                self.on_menu(action);
            }
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            let wake = self.wake();
            self.recovery.banner_ui(ui, wake, &mut self.notices);
            let device = (analysing || progress.is_some()).then_some(self.device.line.as_str());
            let status = Status { device, progress, analysing, file_job: self.files.job.as_ref() };
            if status_ui(ui, status, &mut self.notices) {
                if let Mode::Review(ReviewMode { analysis: Some(analysis), .. }) = &self.mode {
                    analysis.run.cancel();
                }
            }
        });
        if self.live_panel.visible {
            egui::Panel::left("live").resizable(true).default_size(300.0).show(ui, |ui| {
                let view = match &self.mode {
                    Mode::Live(live) => Some(live),
                    Mode::Review(_) => None,
                };
                let panel = &mut self.live_panel;
                let file = panel.file.as_ref();
                let last_end = panel.last_end.as_deref();
                if let Some(action) =
                    live_panel_ui(ui, &mut self.settings, &mut panel.source, file, &panel.cameras, view, last_end)
                {
                    self.handle_live_action(action);
                }
            });
        }
        // The panels under the video take shares of what the menu and the
        // status line leave, so the video keeps room in a small window.
        let heights = PanelHeights::share(ui.available_rect_before_wrap().height());
        egui::Panel::bottom("events")
            .resizable(true)
            .size_range(heights.events)
            .default_size(heights.events_default)
            .show(ui, |ui| {
                self.events_rect = Some(ui.max_rect());
                events_panel(ui, &mut self.doc, &mut self.mode);
            });
        egui::Panel::bottom("timeline")
            .resizable(true)
            .size_range(heights.timeline)
            .default_size(heights.timeline_default)
            .show(ui, |ui| {
                self.timeline_rect = Some(ui.max_rect());
                timeline_panel(ui, &mut self.doc, &mut self.mode);
            });
        let central = egui::CentralPanel::default().show(ui, |ui| match &self.mode {
            Mode::Live(live) => live.draw(ui, self.doc.session.as_ref(), &self.settings),
            Mode::Review(review) => review.video_view(ui, self.doc.session.as_ref(), &self.settings),
        });
        self.video_rect = Some(central.response.rect);
        if notice_area(&ctx, central.response.rect, &mut self.notices, self.files.dialog_open_for())
            == Some(NoticeAction::OpenByPath)
        {
            self.files.path_entry.get_or_insert_with(String::new);
        }
        self.fit_to_screen(&ctx);
        if let Some(picked) = self.files.path_entry_window(&ctx) {
            self.open_picked(picked);
        }
        self.save_settings_if_changed(&ctx);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if let Mode::Live(live) = &mut self.mode {
            live.finish_at_exit();
        }
    }
}
