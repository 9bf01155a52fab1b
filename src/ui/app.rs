//! `GlimpseApp`: one window for reviewing recorded videos and running live
//! sessions. Its state is split by concern, as egui's demo does: the
//! session on screen (`Document`), the mode (`Review` or `Live`, each with
//! its own state), notices, file work, and each panel in its own module.
//! Heavy work runs elsewhere (analysis, decoding, saving each on their own
//! thread); `logic` drains their channels first, then `ui` only draws.
use std::path::{Path, PathBuf};

use eframe::egui;

use super::autosave::{default_autosave_dir, ReviewAutosave};
use super::document::Document;
use super::files::{Files, Picked};
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
use super::unsaved::{question_ui, Answer, Question, Replacing};
use super::AppLaunch;
use crate::capture::SourceKind;
use crate::device::{ChosenDevice, DeviceChoice, ThreadUse};
use crate::pipeline::clip::DATASET_FPS;
use crate::pipeline::live_run::{session_name_now, LiveSettings, LiveStats};
use crate::pipeline::{AnalysisOptions, AnalysisRun, Classifier, RunCommand, RunSource};
use crate::session::carry::{carry_reviews, is_reviewed, reviewed_events, Precedence};
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
    /// The command line's `--classifier`, which wins over the settings'.
    classifier_override: Option<Classifier>,
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
    /// The timeline's plot alone (no transport bar): the timeline PNG.
    timeline_plot_rect: Option<egui::Rect>,
    pub(super) video_rect: Option<egui::Rect>,
    /// The window has been checked against the screen (once, when the
    /// platform first says how big the screen is).
    pub(super) fitted_to_screen: bool,
    /// The last stats of a live session that has just ended (the UI bench
    /// takes them).
    pub(super) live_ended: Option<LiveStats>,
    /// Unsaved review edits of a recorded video, kept on disk as they are made.
    pub(super) autosave: ReviewAutosave,
    /// What the window asks before replacing review work.
    pub(super) question: Option<Question>,
    /// What to do once the save the user chose in the question has finished.
    after_save: Option<Replacing>,
    /// The user chose to close (or nothing was unsaved): the next close
    /// request goes through.
    close_confirmed: bool,
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
            classifier_override: launch.classifier,
            device: launch.device,
            doc: Document::default(),
            mode: Mode::Review(ReviewMode::default()),
            notices,
            files: Files::default(),
            live_panel,
            timeline_rect: None,
            events_rect: None,
            timeline_plot_rect: None,
            video_rect: None,
            fitted_to_screen: false,
            live_ended: None,
            autosave: ReviewAutosave::new(default_autosave_dir()),
            question: None,
            after_save: None,
            close_confirmed: false,
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

    /// The options of the next run: the command line's, at the settings'
    /// sensitivity, a folder of frames at `folder_fps`.
    pub(super) fn run_options(&self) -> AnalysisOptions {
        let mut options = self.options.clone();
        options.spotting = options.spotting.with_sensitivity(self.settings.sensitivity);
        options.classifier = self.classifier_override.unwrap_or(self.settings.classifier);
        options.folder_fps = Some(self.folder_fps());
        options
    }

    /// The rate a folder of frames is played and analysed at: the command
    /// line's `--fps`, else that of the data sets that ship such folders.
    fn folder_fps(&self) -> f64 {
        self.options.folder_fps.unwrap_or(DATASET_FPS)
    }

    /// Back to review mode (a fresh review) after a live session.
    fn enter_review(&mut self) {
        if let Mode::Live(live) = &self.mode {
            self.mode = Mode::Review(ReviewMode::with_speed(live.review_speed));
        }
    }

    /// Review edits not saved to a session file, which opening another
    /// file, a live session or closing would throw away.
    pub(super) fn has_unsaved_reviews(&self) -> bool {
        matches!(self.mode, Mode::Review(_)) && self.doc.dirty && self.doc.session.is_some()
    }

    /// Opens `path`, first asking about unsaved review edits.
    pub(super) fn open_path(&mut self, path: &Path) {
        self.unless_unsaved(Replacing::Open(path.to_path_buf()));
    }

    /// Does `next` now, or asks first when it would throw review work away.
    fn unless_unsaved(&mut self, next: Replacing) {
        if self.has_unsaved_reviews() {
            self.question = Some(Question::Unsaved(next));
        } else {
            self.go_on(next);
        }
    }

    fn go_on(&mut self, next: Replacing) {
        match next {
            Replacing::Open(path) => self.open_path_now(&path),
            Replacing::StartLive => self.start_live_now(),
            Replacing::Close => {
                self.close_confirmed = true;
                self.ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }

    /// The key the review autosave files a session under: the video's real path.
    fn autosave_key(&self) -> Option<String> {
        let Mode::Review(review) = &self.mode else { return None };
        let path = &review.video.as_ref()?.path;
        Some(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()).display().to_string())
    }

    fn on_answer(&mut self, answer: Answer) {
        let Some(question) = self.question.take() else { return };
        match (question, answer) {
            (Question::Unsaved(next), Answer::Save) => {
                if !self.files.idle() {
                    self.notices.notice("wait for the running save or export to finish, then try again");
                    self.question = Some(Question::Unsaved(next));
                } else if self.save_session() {
                    self.after_save = Some(next);
                }
            }
            (Question::Unsaved(next), Answer::Discard) => {
                if let Some(key) = self.autosave_key() {
                    self.autosave.remove(&key);
                }
                self.doc.dirty = false;
                self.go_on(next);
            }
            (Question::Reanalyse { .. }, Answer::Reanalyse) => self.reanalyse_now(),
            _ => {}
        }
    }

    /// Starts saving the session beside its video; `false` (and a notice)
    /// when there is nothing to save or nowhere to name it after.
    fn save_session(&mut self) -> bool {
        let video = match &self.mode {
            Mode::Review(review) => review.video.as_ref().map(|v| v.path.clone()),
            Mode::Live(_) => None,
        };
        let (Some(session), Some(video)) = (self.doc.session.as_ref(), video) else {
            self.notices.error("cannot save: no session, or no video to name its file after");
            return false;
        };
        let (settings, ctx) = (&self.settings, &self.ctx);
        self.files.on_menu(MenuAction::Save, Some(session), Some(&video), settings, ctx, &mut self.notices);
        // Running, or waiting on the question about a file already there.
        !self.files.idle()
    }

    fn reanalyse(&mut self) {
        let reviewed = self.doc.session.as_ref().map_or(0, |s| reviewed_events(s).len());
        if reviewed > 0 {
            self.question = Some(Question::Reanalyse { reviewed });
        } else {
            self.reanalyse_now();
        }
    }

    /// Analyses the video again; its reviewed events' verdicts go with it.
    fn reanalyse_now(&mut self) {
        let Mode::Review(review) = &self.mode else { return };
        let Some(path) = review.video.as_ref().map(|v| v.path.clone()) else { return };
        let carry = self.doc.session.as_ref().map(reviewed_events).unwrap_or_default();
        self.doc.set_session(None);
        self.start_analysis(&path, carry);
    }

    /// Review edits autosaved for this video (a crash before Save) go back
    /// onto its session: at once for a loaded session, when the analysis
    /// ends for a video.
    fn autosaved_reviews(&mut self) -> Vec<crate::session::Event> {
        let Some(key) = self.autosave_key() else { return Vec::new() };
        match self.autosave.find(&key) {
            Some(Ok(saved)) => {
                let when = crate::utc::UtcTime::of(saved.written_unix_s);
                self.notices.notice(format!(
                    "{} review edit(s) autosaved {}-{:02}-{:02} {:02}:{:02} UTC are restored (not saved yet)",
                    saved.events.len(),
                    when.year,
                    when.month,
                    when.day,
                    when.hour,
                    when.minute
                ));
                saved.events
            }
            Some(Err(e)) => {
                self.notices.error(e);
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    /// A session file (.ron/.json) is loaded and its source opened for
    /// playback; anything else is taken for a video and analysed.
    fn open_path_now(&mut self, path: &Path) {
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
                    // A folder of frames plays at the rate it was analysed at.
                    let fps = match session.source.nominal_fps {
                        fps if session.source.kind == SourceKind::ImageFolder && fps > 0.0 => fps,
                        _ => self.folder_fps(),
                    };
                    self.files.session_file = (ext == "ron").then(|| path.to_path_buf());
                    self.enter_review();
                    let Self { mode: Mode::Review(review), notices, doc, .. } = self else { return };
                    review.analysis = None;
                    review.open_video(&source, fps, wake, notices);
                    doc.selected_face = session.face_ids().first().copied();
                    doc.set_session(Some(session));
                    doc.dirty = false;
                    notices.notice(format!("loaded session {}", path.display()));
                    self.autosave.reset();
                    let restored = self.autosaved_reviews();
                    if let (false, Some(session)) = (restored.is_empty(), self.doc.session.as_mut()) {
                        carry_reviews(restored, session, Precedence::Incoming);
                        self.doc.dirty = true;
                        self.doc.revision += 1;
                    }
                }
                Err(e) => self.notices.error(crate::error_text::error_chain(&e)),
            }
            return;
        }
        self.enter_review();
        self.files.session_file = None;
        let fps = self.folder_fps();
        let Self { mode: Mode::Review(review), notices, doc, .. } = self else { return };
        review.open_video(path, fps, wake, notices);
        doc.set_session(None);
        doc.dirty = false;
        self.autosave.reset();
        let restored = self.autosaved_reviews();
        self.start_analysis(path, restored);
    }

    fn start_analysis(&mut self, path: &Path, carry: Vec<crate::session::Event>) {
        let (options, wake) = (self.run_options(), self.wake());
        let Self { mode: Mode::Review(review), notices, device, .. } = self else { return };
        review.start_analysis(path, options, device.device, carry, wake, notices);
    }

    /// Starts a live session, first asking about unsaved review edits.
    fn start_live(&mut self) {
        if !matches!(self.mode, Mode::Live(_)) {
            self.unless_unsaved(Replacing::StartLive);
        }
    }

    fn start_live_now(&mut self) {
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
        self.files.session_file = saved.as_ref().and_then(|s| s.as_ref().ok()).cloned();
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
                let (wake, fps) = (self.wake(), self.folder_fps());
                let Self { mode: Mode::Review(review), notices, .. } = self else { return };
                review.open_video(&path, fps, wake, notices);
            }
        }
        self.doc.dirty = matches!(saved, Some(Err(_))) || unsaved_reviews;
        self.live_ended = Some(stats);
    }

    fn on_menu(&mut self, action: MenuAction) {
        let wake = self.wake();
        let video = match &self.mode {
            Mode::Review(review) => review.video.as_ref().map(|v| v.path.clone()),
            Mode::Live(_) => None,
        };
        match action {
            MenuAction::PickFile => self.files.pick_file(self.settings.last_folder.clone(), wake, &mut self.notices),
            MenuAction::OpenByPath => {
                self.files.path_entry.get_or_insert_with(String::new);
            }
            MenuAction::Save => {
                self.save_session();
            }
            MenuAction::Export(_)
            | MenuAction::TimelinePng
            | MenuAction::ExportAll
            | MenuAction::PickExportFolder
            | MenuAction::TypeExportFolder => {
                let session = self.doc.session.as_ref();
                self.files.on_menu(action, session, video.as_deref(), &self.settings, &self.ctx, &mut self.notices)
            }
            MenuAction::StartLive => self.start_live(),
            MenuAction::Reanalyse => self.reanalyse(),
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

    /// A close request with review edits unsaved is held until the user answers.
    fn guard_close(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.viewport().close_requested()) && !self.close_confirmed && self.has_unsaved_reviews() {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.question = Some(Question::Unsaved(Replacing::Close));
        }
    }

    /// Writes the unsaved review edits of a recorded video to the autosave.
    fn autosave_reviews(&mut self) {
        if !self.has_unsaved_reviews() {
            return;
        }
        let Some(key) = self.autosave_key() else { return };
        let Self { autosave, doc, mode, .. } = self;
        let pending = match mode {
            Mode::Review(review) => review.analysis.as_ref().map(|a| a.carry.as_slice()).unwrap_or_default(),
            Mode::Live(_) => &[],
        };
        // Called only when a write is due, not every frame.
        let reviewed = || {
            let mut events = doc.session.as_ref().map(reviewed_events).unwrap_or_default();
            events.extend(pending.iter().filter(|e| is_reviewed(e)).cloned());
            events
        };
        if let Err(e) = autosave.tick(&key, doc.revision, reviewed) {
            self.notices.error(e);
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
        self.guard_close(ctx);
        if self.files.poll(ctx, self.timeline_plot_rect, &mut self.settings, &mut self.notices) {
            self.doc.dirty = false;
            if let Some(key) = self.autosave_key() {
                self.autosave.remove(&key);
            }
            if let Some(next) = self.after_save.take() {
                self.go_on(next);
            }
        } else if self.files.idle() {
            // The save failed or was cancelled (and said so): nothing is replaced.
            self.after_save = None;
        }
        self.autosave_reviews();
        if let Some(picked) = self.files.poll_dialog() {
            self.open_picked(picked);
        }
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
                can_save: self.doc.session.is_some() && self.files.idle(),
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
                events_panel(ui, &mut self.doc, &mut self.mode, self.settings.sensitivity);
            });
        egui::Panel::bottom("timeline")
            .resizable(true)
            .size_range(heights.timeline)
            .default_size(heights.timeline_default)
            .show(ui, |ui| {
                self.timeline_rect = Some(ui.max_rect());
                self.timeline_plot_rect = timeline_panel(ui, &mut self.doc, &mut self.mode);
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
        if let Some(question) = &self.question {
            let what = match &video {
                Some(path) => path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into()),
                None => "this session".into(),
            };
            if let Some(answer) = question_ui(&ctx, question, &what) {
                self.on_answer(answer);
            }
        }
        self.files.windows(&ctx, &mut self.settings, &mut self.notices);
        self.save_settings_if_changed(&ctx);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if let Mode::Live(live) = &mut self.mode {
            live.finish_at_exit();
        }
    }
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
