//! The window's file work: the open dialog and the "Open by path" box,
//! and saves and exports running as `FileJob`s (the timeline PNG waits for
//! a screenshot first).
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use eframe::egui;

use super::jobs::{FileJob, JobMessage};
use super::notices::Notices;
use crate::session::export::{export_path, ExportFormat};
use crate::session::Session;

/// The open dialog, asked for and not yet answered.
pub struct DialogWait {
    answer: Receiver<Option<PathBuf>>,
    pub(super) since: Instant,
}

#[derive(Default)]
pub struct Files {
    pub job: Option<FileJob>,
    pub(super) dialog: Option<DialogWait>,
    /// The "Open by path" box, while it is open.
    pub path_entry: Option<String>,
    /// A timeline PNG asked for: written when the screenshot comes back.
    timeline_png: Option<(PathBuf, Receiver<Arc<egui::ColorImage>>)>,
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
                open |= ui.button("Open").clicked();
                close = ui.button("Cancel").clicked();
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

    /// Drains the running job; `true` when a session save has finished.
    pub fn poll_job(&mut self, notices: &mut Notices) -> bool {
        let Some(job) = &mut self.job else { return false };
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
                self.job = None;
                notices.notice(format!("{what}: wrote {}", path.display()));
                what == "save session"
            }
            Some(Err(error)) => {
                self.job = None;
                notices.error(format!("{what} failed: {error}"));
                false
            }
            None => false,
        }
    }

    /// Exports beside the video, named after it.
    pub fn export(
        &mut self,
        session: Session,
        format: ExportFormat,
        (dir, stem): (PathBuf, String),
        wake: impl Fn() + Send + 'static,
        notices: &mut Notices,
    ) {
        let job = FileJob::export(session, format, &export_path(&dir, &stem, format), wake);
        self.start(job, "the export", notices);
    }

    /// Saves the session beside the video, named after it.
    pub fn save(
        &mut self,
        session: Session,
        (dir, stem): (PathBuf, String),
        wake: impl Fn() + Send + 'static,
        notices: &mut Notices,
    ) {
        let job = FileJob::save_session(session, &export_path(&dir, &stem, ExportFormat::Ron), wake);
        self.start(job, "saving", notices);
    }

    fn start(&mut self, job: std::io::Result<FileJob>, what: &str, notices: &mut Notices) {
        match job {
            Ok(job) => self.job = Some(job),
            Err(e) => notices.error(format!("cannot start {what}: {e}")),
        }
    }

    /// Asks for a screenshot; the timeline part of it becomes the PNG.
    pub fn export_timeline_png(&mut self, ctx: &egui::Context, path: PathBuf) {
        let (sender, receiver) = crossbeam_channel::bounded(1);
        ctx.request_screenshot(move |image| {
            let _ = sender.send(image);
        });
        self.timeline_png = Some((path, receiver));
    }

    pub fn png_pending(&self) -> bool {
        self.timeline_png.is_some()
    }

    pub fn poll_timeline_png(
        &mut self,
        ctx: &egui::Context,
        timeline: Option<egui::Rect>,
        wake: impl Fn() + Send + 'static,
        notices: &mut Notices,
    ) {
        let Some((_, images)) = &self.timeline_png else { return };
        let Ok(image) = images.try_recv() else { return };
        let Some((path, _)) = self.timeline_png.take() else { return };
        let Some(rect) = timeline else { return };
        match FileJob::png(image, Some(to_pixels(rect, ctx.pixels_per_point())), &path, wake) {
            Ok(job) => self.job = Some(job),
            Err(e) => notices.error(format!("cannot start writing the timeline PNG: {e}")),
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

/// Where saves and exports go: beside the video, named after it.
pub fn output_stem(video: &Path) -> Option<(PathBuf, String)> {
    let dir = video.parent().map(Path::to_path_buf).unwrap_or_default();
    let stem = video.file_stem()?.to_string_lossy().into_owned();
    Some((dir, stem))
}
