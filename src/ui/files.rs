//! The window's file work: the open dialog and the "Open by path" box,
//! and saves and exports: planned (asking before replacing a file), then
//! run as `FileJob`s one after another (the timeline PNG waits for a
//! screenshot first).
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use eframe::egui;

use super::export_folder::{export_dir, ExportFolder};
use super::exports::{ExportKind, ExportPlan, ExportRun};
use super::jobs::{FileJob, JobMessage};
use super::menu::MenuAction;
use super::notices::Notices;
use super::overwrite::{OverwriteChoice, OverwriteQuestion};
use super::settings::Settings;
use crate::session::Session;

/// How long the timeline PNG waits for its screenshot before it is given
/// up (a backend that cannot take one must not stall "Export all").
const SCREENSHOT_WAIT: Duration = Duration::from_secs(5);

/// The open dialog, asked for and not yet answered.
pub struct DialogWait {
    answer: Receiver<Option<PathBuf>>,
    pub(super) since: Instant,
}

#[derive(Default)]
pub struct Files {
    pub job: Option<FileJob>,
    /// What the running job writes.
    job_kind: Option<ExportKind>,
    pub(super) dialog: Option<DialogWait>,
    /// The "Open by path" box, while it is open.
    pub path_entry: Option<String>,
    /// The timeline PNG being made: written when the screenshot comes back.
    timeline_png: Option<PendingPng>,
    pub folder: ExportFolder,
    /// The saves and exports asked for, while they are written.
    run: Option<ExportRun>,
    /// Saves and exports waiting for the user to say what to do about
    /// files already there.
    question: Option<OverwriteQuestion>,
    /// The session file this window loaded or last saved: saving over it
    /// is what the user expects of Save, so it is not asked about.
    pub session_file: Option<PathBuf>,
}

struct PendingPng {
    path: PathBuf,
    what: String,
    /// Asked for one frame after the export was (so that a closing menu
    /// or question is not in the picture), with the timeline's rectangle
    /// and when it was asked.
    screenshot: Option<(Receiver<Arc<egui::ColorImage>>, egui::Rect, Instant)>,
}

/// What the user picked or typed to open.
pub enum Picked {
    Path(PathBuf),
    Nothing(&'static str),
    Missing(PathBuf),
}

impl Files {
    pub fn pick_file(&mut self, folder: Option<PathBuf>, wake: impl Fn() + Send + 'static, notices: &mut Notices) {
        let pick = move || {
            let mut dialog = rfd::FileDialog::new()
                .set_title("Open a video or a Glimpse session")
                .add_filter("Videos and sessions", &["mp4", "avi", "mov", "mkv", "m4v", "webm", "ron", "json"]);
            if let Some(folder) = folder {
                dialog = dialog.set_directory(folder);
            }
            dialog.pick_file()
        };
        self.pick_with(pick, wake, notices);
    }

    /// Runs `pick` (a dialog) on its own thread, as it blocks its caller;
    /// the window shows the wait (`dialog_open_for`) until it answers.
    pub(super) fn pick_with(
        &mut self,
        pick: impl FnOnce() -> Option<PathBuf> + Send + 'static,
        wake: impl Fn() + Send + 'static,
        notices: &mut Notices,
    ) {
        if self.dialog.is_some() {
            return;
        }
        let (sender, answer) = crossbeam_channel::bounded(1);
        let spawned = std::thread::Builder::new().name("glimpse-file-dialog".into()).spawn(move || {
            let _ = sender.send(pick());
            wake();
        });
        match spawned {
            Ok(_) => self.dialog = Some(DialogWait { answer, since: Instant::now() }),
            Err(e) => notices.error(format!("cannot open the file dialog: {e}")),
        }
    }

    /// How long the open dialog has been asked for without an answer.
    pub fn dialog_open_for(&self) -> Option<Duration> {
        self.dialog.as_ref().map(|d| d.since.elapsed())
    }

    pub fn poll_dialog(&mut self) -> Option<Picked> {
        let picked = self.dialog.as_ref()?.answer.try_recv().ok()?;
        self.dialog = None;
        Some(match picked {
            Some(path) => Picked::Path(path),
            // rfd answers "nothing picked" also when no desktop portal is
            // running, so say what else works.
            None => Picked::Nothing(
                "no file chosen (if no dialog appeared, no XDG desktop portal is running: \
                 use File > Open by path, drop the file on the window, or pass it as `glimpse app FILE`)",
            ),
        })
    }

    pub fn path_entry_window(&mut self, ctx: &egui::Context) -> Option<Picked> {
        let text = self.path_entry.as_mut()?;
        let (mut open, mut close) = (false, false);
        egui::Window::new("Open by path").collapsible(false).resizable(false).show(ctx, |ui| {
            ui.label("A video, an image folder or a session (.ron/.json):");
            let response =
                ui.add(egui::TextEdit::singleline(text).desired_width(420.0).hint_text("/path/to/video.mp4"));
            open = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            ui.horizontal(|ui| {
                open |= ui.button("Open").on_hover_text("Open the path typed (Enter)").clicked();
                close = ui.button("Cancel").on_hover_text("Close this box").clicked();
            });
        });
        if open {
            let path = PathBuf::from(text.trim());
            self.path_entry = None;
            return Some(if path.exists() { Picked::Path(path) } else { Picked::Missing(path) });
        }
        if close {
            self.path_entry = None;
        }
        None
    }

    /// No save or export is running or waiting.
    pub fn idle(&self) -> bool {
        self.job.is_none() && self.run.is_none() && self.question.is_none() && self.timeline_png.is_none()
    }

    /// Carries out the File menu's save and export actions (others are
    /// left to the app): saves go beside the video, exports to the export
    /// folder, each named after the video.
    pub fn on_menu(
        &mut self,
        action: MenuAction,
        session: Option<&Session>,
        video: Option<&Path>,
        settings: &Settings,
        ctx: &egui::Context,
        notices: &mut Notices,
    ) {
        let kinds: &[ExportKind] = match action {
            MenuAction::PickExportFolder => {
                let start = settings.export_dir.clone().or_else(|| settings.last_folder.clone());
                let ctx = ctx.clone();
                self.folder.pick(start, move || ctx.request_repaint(), notices);
                return;
            }
            MenuAction::TypeExportFolder => {
                self.folder.open_entry(settings.export_dir.as_deref());
                return;
            }
            MenuAction::Save => &[ExportKind::SaveSession],
            MenuAction::Export(format) => &[ExportKind::Data(format)],
            MenuAction::TimelinePng => &[ExportKind::TimelinePng],
            MenuAction::ExportAll => &ExportKind::ALL,
            _ => return,
        };
        let (Some(session), Some(video)) = (session, video) else { return };
        if !self.idle() {
            notices.notice("a save or export is still running");
            return;
        }
        let Some(stem) = video.file_stem().map(|s| s.to_string_lossy().into_owned()) else { return };
        let dir = match action {
            MenuAction::Save => export_dir(None, video),
            _ => export_dir(settings.export_dir.as_deref(), video),
        };
        let plan = ExportPlan::new(kinds, &dir, &stem);
        let existing = plan.existing(self.session_file.as_deref());
        if existing.is_empty() {
            self.run = Some(ExportRun::new(session.clone(), plan));
        } else {
            self.question = Some(OverwriteQuestion::new(plan, session.clone(), existing));
        }
        ctx.request_repaint();
    }

    /// The windows of the file work: the question about existing files
    /// and the typed export folder.
    pub fn windows(&mut self, ctx: &egui::Context, settings: &mut Settings, notices: &mut Notices) {
        if let Some(dir) = self.folder.entry_window(ctx) {
            notices.notice(format!("exports go to {}", dir.display()));
            settings.export_dir = Some(dir);
        }
        let Some(choice) = self.question.as_ref().and_then(|q| q.ui(ctx)) else { return };
        let Some(OverwriteQuestion { plan, session, .. }) = self.question.take() else { return };
        let plan = match choice {
            OverwriteChoice::Overwrite => Some(plan),
            OverwriteChoice::KeepBoth => plan.numbered(),
            OverwriteChoice::Cancel => None,
        };
        match plan {
            Some(plan) => self.run = Some(ExportRun::new(session, plan)),
            None => notices.notice("nothing written: cancelled"),
        }
        ctx.request_repaint();
    }

    /// Drains the folder dialog and the running job, takes the timeline's
    /// screenshot and starts the next file; `true` when a session save
    /// has finished.
    pub fn poll(
        &mut self,
        ctx: &egui::Context,
        timeline: Option<egui::Rect>,
        settings: &mut Settings,
        notices: &mut Notices,
    ) -> bool {
        if let Some(dir) = self.folder.poll_dialog(notices) {
            notices.notice(format!("exports go to {}", dir.display()));
            settings.export_dir = Some(dir);
        }
        let saved = self.poll_job();
        self.poll_timeline_png(ctx, timeline);
        self.start_next(ctx, notices);
        saved
    }

    fn poll_job(&mut self) -> bool {
        let Some(job) = &mut self.job else { return false };
        let mut outcome = None;
        while let Ok(message) = job.messages.try_recv() {
            match message {
                JobMessage::Progress { done, total } => job.progress = Some((done, total)),
                JobMessage::Done { written } => outcome = Some(Ok(written)),
                JobMessage::Failed { error } => outcome = Some(Err(error)),
            }
        }
        let Some(outcome) = outcome else { return false };
        let what = job.what.clone();
        self.job = None;
        let kind = self.job_kind.take();
        let Some(run) = &mut self.run else { return false };
        match outcome {
            Ok(written) => {
                let saved = kind == Some(ExportKind::SaveSession);
                if saved {
                    self.session_file = Some(written.path.clone());
                }
                run.written.push(written);
                saved
            }
            Err(error) => {
                run.failed.push(format!("{what} failed: {error}"));
                false
            }
        }
    }

    fn poll_timeline_png(&mut self, ctx: &egui::Context, timeline: Option<egui::Rect>) {
        let Some(png) = &mut self.timeline_png else { return };
        let failed = match &png.screenshot {
            None => match timeline {
                Some(rect) => {
                    let (sender, receiver) = crossbeam_channel::bounded(1);
                    let wake = ctx.clone();
                    ctx.request_screenshot(move |image| {
                        let _ = sender.send(image);
                        wake.request_repaint();
                    });
                    png.screenshot = Some((receiver, rect, Instant::now()));
                    None
                }
                None => Some("the timeline is not on screen"),
            },
            Some((images, rect, asked)) => match images.try_recv() {
                Ok(image) => {
                    let (crop, path) = (to_pixels(*rect, ctx.pixels_per_point()), png.path.clone());
                    let what = png.what.clone();
                    self.timeline_png = None;
                    let ctx = ctx.clone();
                    self.start_job(
                        FileJob::png(image, Some(crop), &path, move || ctx.request_repaint()),
                        ExportKind::TimelinePng,
                        what,
                    );
                    return;
                }
                Err(_) if asked.elapsed() > SCREENSHOT_WAIT => Some("no screenshot came back from the window"),
                Err(_) => {
                    ctx.request_repaint_after(Duration::from_millis(100));
                    None
                }
            },
        };
        if let Some(problem) = failed {
            let what = png.what.clone();
            self.timeline_png = None;
            if let Some(run) = &mut self.run {
                run.failed.push(format!("{what} failed: {problem}"));
            }
        }
    }

    /// The run's next file once the last one is done; its summary at the end.
    fn start_next(&mut self, ctx: &egui::Context, notices: &mut Notices) {
        if self.job.is_some() || self.timeline_png.is_some() {
            return;
        }
        let Some(run) = &mut self.run else { return };
        let Some((item, place)) = run.next() else {
            let (notice, error) = run.summary();
            notice.into_iter().for_each(|n| notices.notice(n));
            error.into_iter().for_each(|e| notices.error(e));
            self.run = None;
            return;
        };
        let what = if run.is_many() { format!("{} ({place})", item.kind.what()) } else { item.kind.what() };
        let wake = {
            let ctx = ctx.clone();
            move || ctx.request_repaint()
        };
        let job = match item.kind {
            ExportKind::TimelinePng => {
                self.timeline_png = Some(PendingPng { path: item.path, what, screenshot: None });
                ctx.request_repaint();
                return;
            }
            ExportKind::Data(format) => FileJob::export(run.session.clone(), format, &item.path, wake),
            ExportKind::SaveSession => FileJob::save_session(run.session.clone(), &item.path, wake),
        };
        self.start_job(job, item.kind, what);
    }

    fn start_job(&mut self, job: std::io::Result<FileJob>, kind: ExportKind, what: String) {
        match job {
            Ok(mut job) => {
                job.what = what;
                self.job = Some(job);
                self.job_kind = Some(kind);
            }
            Err(e) => {
                if let Some(run) = &mut self.run {
                    run.failed.push(format!("cannot start {what}: {e}"));
                }
            }
        }
    }
}

/// A rectangle in points as pixels of a screenshot.
pub fn to_pixels(rect: egui::Rect, pixels_per_point: f32) -> egui::Rect {
    egui::Rect::from_min_max(
        (rect.min.to_vec2() * pixels_per_point).to_pos2(),
        (rect.max.to_vec2() * pixels_per_point).to_pos2(),
    )
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use egui_kittest::kittest::Queryable;
    use egui_kittest::Harness;

    use super::*;
    use crate::device::ChosenDevice;
    use crate::session::export::ExportFormat;
    use crate::ui::menu::{menu_bar, MenuState};

    struct State {
        files: Files,
        settings: Settings,
        notices: Notices,
        session: Session,
        video: PathBuf,
        saves: usize,
        /// Where the timeline's plot would be on screen.
        timeline: Option<egui::Rect>,
    }

    /// The File menu and the file work as the app wires them.
    fn harness(video: PathBuf, session: Session) -> Harness<'static, State> {
        let state = State {
            files: Files::default(),
            settings: Settings::default(),
            notices: Notices::default(),
            session,
            video,
            saves: 0,
            timeline: None,
        };
        Harness::builder().with_size(egui::vec2(1000.0, 700.0)).build_ui_state(
            |ui, s: &mut State| {
                let ctx = ui.ctx().clone();
                if s.files.poll(&ctx, s.timeline, &mut s.settings, &mut s.notices) {
                    s.saves += 1;
                }
                let device = ChosenDevice { device: tch::Device::Cpu, line: "cpu".into(), flag: None, problem: None };
                let menu = MenuState {
                    can_save: s.files.idle(),
                    settings: &mut s.settings,
                    live_panel: &mut false,
                    device: &device,
                    live_running: false,
                    can_reanalyse: false,
                    live_dir: String::new(),
                    title: String::new(),
                };
                if let Some(action) = menu_bar(ui, menu) {
                    s.files.on_menu(action, Some(&s.session), Some(&s.video), &s.settings, &ctx, &mut s.notices);
                }
                s.files.windows(&ctx, &mut s.settings, &mut s.notices);
            },
            state,
        )
    }

    fn session(source: &Path) -> Session {
        Session {
            source: crate::session::SourceMeta { path: source.display().to_string(), ..Default::default() },
            class_names: vec!["negative".into(), "positive".into(), "surprise".into()],
            complete: true,
            ..Session::default()
        }
    }

    /// File ▸ Export ▸ `item`.
    fn export_menu(harness: &mut Harness<'static, State>, item: &str) {
        harness.get_by_label("File").click();
        harness.run();
        harness.get_by_label("Export").click();
        harness.run();
        harness.get_by_label(item).click();
        harness.run();
    }

    /// File ▸ Export ▸ Export all, stepping no further than the click, so
    /// that `until_idle` sees the screenshot request.
    fn export_all(harness: &mut Harness<'static, State>) {
        harness.get_by_label("File").click();
        harness.run();
        harness.get_by_label("Export").click();
        harness.run();
        harness.get_by_label("Export all").click();
        harness.step();
    }

    /// File ▸ Export ▸ Type folder path…, `folder`, Use this folder.
    fn type_folder(harness: &mut Harness<'static, State>, folder: &Path) {
        export_menu(harness, "Type folder path…");
        harness.get_by_role(egui::accesskit::Role::TextInput).focus();
        harness.run();
        harness.get_by_role(egui::accesskit::Role::TextInput).type_text(&folder.display().to_string());
        harness.run();
        harness.get_by_label("Use this folder").click();
        harness.run();
    }

    /// Steps until the file work is done, answering screenshot requests as
    /// the window would (the harness renders none): the window's picture
    /// is grey with the timeline's rectangle red.
    fn until_idle(harness: &mut Harness<'static, State>) {
        let started = Instant::now();
        while !harness.state().files.idle() {
            assert!(started.elapsed() < Duration::from_secs(60), "the export never finished");
            std::thread::sleep(Duration::from_millis(10));
            harness.step();
            let requests: Vec<egui::ScreenshotCallback> = harness
                .output()
                .viewport_output
                .values()
                .flat_map(|viewport| &viewport.commands)
                .filter_map(|command| match command {
                    egui::ViewportCommand::Screenshot(callback) => Some(callback.clone()),
                    _ => None,
                })
                .collect();
            for request in requests {
                let [w, h] = [1000, 700];
                let mut image = egui::ColorImage::filled([w, h], egui::Color32::from_gray(40));
                if let Some(rect) = harness.state().timeline {
                    for y in rect.top() as usize..rect.bottom() as usize {
                        image.pixels[y * w..(y + 1) * w].fill(egui::Color32::from_rgb(250, 0, 0));
                    }
                }
                request.complete(Arc::new(image));
            }
        }
        harness.step();
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// An export over an existing file asks first: Cancel writes nothing,
    /// Keep both writes a numbered copy, only Overwrite replaces the file.
    #[test]
    fn an_existing_export_is_untouched_unless_overwrite_is_chosen() {
        let dir = crate::files::scratch_dir("ui-overwrite");
        let video = dir.join("clip.mp4");
        let target = dir.join("clip.session.json");
        std::fs::write(&target, "earlier export").expect("write");
        let mut harness = harness(video.clone(), session(&video));

        export_menu(&mut harness, "Session JSON");
        harness.get_by_label("Replace existing files?");
        harness.get_by_label(&target.display().to_string());
        harness.get_by_label("Cancel").click();
        harness.run();
        until_idle(&mut harness);
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "earlier export");
        assert_eq!(names_in(&dir), ["clip.session.json"]);
        assert!(harness.state().notices.texts().contains(&"nothing written: cancelled"));

        export_menu(&mut harness, "Session JSON");
        harness.get_by_label("Keep both").click();
        harness.run();
        until_idle(&mut harness);
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "earlier export");
        assert_eq!(names_in(&dir), ["clip.1.session.json", "clip.session.json"]);
        let copy = Session::load(&dir.join("clip.1.session.json")).expect("the copy is a session");
        assert_eq!(copy.class_names, harness.state().session.class_names);

        export_menu(&mut harness, "Session JSON");
        harness.get_by_label("Overwrite").click();
        harness.run();
        until_idle(&mut harness);
        assert!(Session::load(&target).is_ok(), "overwritten with the session");
        assert_eq!(names_in(&dir), ["clip.1.session.json", "clip.session.json"]);
        let said = format!("wrote {}", target.display());
        assert!(harness.state().notices.texts().contains(&said.as_str()), "{:?}", harness.state().notices.texts());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    /// Save asks before replacing a session file it did not write; once
    /// the user chose that file, saving again is a plain save.
    #[test]
    fn save_asks_once_then_saves_over_its_own_file() {
        let dir = crate::files::scratch_dir("ui-save-own");
        let video = dir.join("clip.mp4");
        let target = dir.join("clip.session.ron");
        std::fs::write(&target, "an earlier analysis").expect("write");
        let mut harness = harness(video.clone(), session(&video));
        let save = |harness: &mut Harness<'static, State>| {
            harness.get_by_label("File").click();
            harness.run();
            harness.get_by_label("Save session").click();
            harness.run();
        };
        save(&mut harness);
        harness.get_by_label("Overwrite").click();
        harness.run();
        until_idle(&mut harness);
        assert_eq!(harness.state().saves, 1);
        assert_eq!(harness.state().files.session_file.as_deref(), Some(target.as_path()));
        harness.state_mut().session.warnings.push("reviewed again".into());
        save(&mut harness);
        assert!(harness.query_by_label("Replace existing files?").is_none(), "asked about its own file");
        until_idle(&mut harness);
        assert_eq!(harness.state().saves, 2);
        assert_eq!(Session::load(&target).expect("loads").warnings, ["reviewed again"]);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    /// Export all writes every format and the timeline's plot, one job
    /// after another, into the export folder typed in the menu, and sums
    /// up what it wrote.
    #[test]
    fn export_all_writes_every_format_into_the_typed_folder_and_says_what_it_wrote() {
        use opencv::prelude::*;
        let dir = crate::files::scratch_dir("ui-export-all");
        let out = dir.join("exports");
        std::fs::create_dir_all(&out).expect("folder");
        let video = dir.join("clip.avi");
        let (width, height, frames) = (64, 48, 6u64);
        let fourcc = opencv::videoio::VideoWriter::fourcc('M', 'J', 'P', 'G').expect("fourcc");
        let size = opencv::core::Size::new(width, height);
        let mut writer = opencv::videoio::VideoWriter::new(video.to_str().expect("utf-8"), fourcc, 25.0, size, true)
            .expect("writer");
        let grey =
            opencv::core::Mat::new_size_with_default(size, opencv::core::CV_8UC3, opencv::core::Scalar::all(90.0))
                .expect("mat");
        for _ in 0..frames {
            writer.write(&grey).expect("write");
        }
        writer.release().expect("release");
        let mut session = session(&video);
        session.source = crate::session::SourceMeta {
            kind: crate::capture::SourceKind::VideoFile,
            width,
            height,
            nominal_fps: 25.0,
            measured_fps: 25.0,
            frame_count: frames,
            ..session.source
        };
        let mut harness = harness(video, session);
        let plot = egui::Rect::from_min_max(egui::pos2(0.0, 450.0), egui::pos2(1000.0, 650.0));
        harness.state_mut().timeline = Some(plot);

        // A folder that is not there is refused in the box.
        let nowhere = dir.join("nowhere");
        type_folder(&mut harness, &nowhere);
        harness.get_by_label(&format!("{}: No such file or directory (os error 2)", nowhere.display()));
        assert_eq!(harness.state().settings.export_dir, None);
        harness.get_by_label("Cancel").click();
        harness.run();
        type_folder(&mut harness, &out);
        assert_eq!(harness.state().settings.export_dir.as_deref(), Some(out.as_path()));

        export_all(&mut harness);
        until_idle(&mut harness);
        let mut expected: Vec<String> = ExportFormat::ALL.iter().map(|f| format!("clip{}", f.suffix())).collect();
        expected.push("clip.timeline.png".into());
        expected.sort();
        assert_eq!(names_in(&out), expected);
        let texts = harness.state().notices.texts();
        let summary = texts.iter().find(|t| t.starts_with("exported ")).expect("a summary");
        let listed = "clip.timeline.png, clip.frames.csv, clip.intervals.csv, clip.session.json, \
                      clip.session.ron, clip.eaf, clip.annotated.mp4 (H.264)";
        assert_eq!(*summary, format!("exported 7 of 7 files to {}: {listed}", out.display()));
        assert!(harness.state().notices.errors().is_empty(), "{:?}", harness.state().notices.errors());
        // The plot's rectangle of the window, and nothing above it.
        let png = opencv::imgcodecs::imread(out.join("clip.timeline.png").to_str().expect("utf-8"), 1).expect("png");
        assert_eq!((png.cols(), png.rows()), (1000, 200));
        let corner = *png.at_2d::<opencv::core::Vec3b>(0, 0).expect("pixel");
        assert_eq!(corner, opencv::core::Vec3b::from([0, 0, 250]), "BGR red");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
