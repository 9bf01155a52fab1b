//! Saving and exporting off the UI thread: the annotated video takes
//! seconds to minutes, and even a RON save fsyncs. Each job works on its
//! own copy of the session, so reviewing can go on meanwhile.
use std::path::Path;

use crossbeam_channel::{bounded, Receiver};

use crate::session::export::{write_export_with_progress, ExportFormat, Written};
use crate::session::Session;

pub enum JobMessage {
    Progress { done: u64, total: u64 },
    Done { written: Written },
    Failed { error: String },
}

pub struct FileJob {
    /// What the job does, for the status line ("export video").
    pub what: String,
    pub messages: Receiver<JobMessage>,
    pub progress: Option<(u64, u64)>,
}

impl FileJob {
    pub fn export(
        session: Session,
        format: ExportFormat,
        path: &Path,
        wake: impl Fn() + Send + 'static,
    ) -> std::io::Result<Self> {
        let path = path.to_path_buf();
        Self::spawn(format!("export {}", format.name()), wake, move |report| {
            write_export_with_progress(&session, format, &path, &mut |done, total| report(done, total))
                .map_err(|e| crate::error_text::error_chain(&e))
        })
    }

    /// A window screenshot (cropped) as PNG.
    pub fn png(
        image: std::sync::Arc<eframe::egui::ColorImage>,
        crop: Option<eframe::egui::Rect>,
        path: &Path,
        wake: impl Fn() + Send + 'static,
    ) -> std::io::Result<Self> {
        let path = path.to_path_buf();
        Self::spawn("export timeline PNG".into(), wake, move |_| {
            super::screenshot::write_png(&image, crop, &path)
                .map(|()| Written { path, codec: None })
                .map_err(|e| crate::error_text::error_chain(&e))
        })
    }

    pub fn save_session(session: Session, path: &Path, wake: impl Fn() + Send + 'static) -> std::io::Result<Self> {
        let path = path.to_path_buf();
        Self::spawn("save session".into(), wake, move |_| {
            session
                .save_ron(&path)
                .map(|()| Written { path, codec: None })
                .map_err(|e| crate::error_text::error_chain(&e))
        })
    }

    fn spawn(
        what: String,
        wake: impl Fn() + Send + 'static,
        work: impl FnOnce(&mut dyn FnMut(u64, u64)) -> Result<Written, String> + Send + 'static,
    ) -> std::io::Result<Self> {
        // Progress is sent with try_send and may be dropped when the UI is
        // behind; the final message is always delivered.
        let (sender, messages) = bounded(8);
        std::thread::Builder::new().name("glimpse-file-job".into()).spawn(move || {
            let mut last_reported = std::time::Instant::now();
            let mut report = |done: u64, total: u64| {
                if last_reported.elapsed().as_millis() >= 100 || done == total {
                    last_reported = std::time::Instant::now();
                    if sender.try_send(JobMessage::Progress { done, total }).is_ok() {
                        wake();
                    }
                }
            };
            let message = match work(&mut report) {
                Ok(written) => JobMessage::Done { written },
                Err(error) => JobMessage::Failed { error },
            };
            let _ = sender.send(message);
            wake();
        })?;
        Ok(Self { what, messages, progress: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn finish(job: &FileJob) -> JobMessage {
        loop {
            match job.messages.recv_timeout(Duration::from_secs(30)).expect("the job answers") {
                JobMessage::Progress { .. } => {}
                done => return done,
            }
        }
    }

    #[test]
    fn save_and_export_run_off_thread_and_report_where_they_wrote() {
        let dir = std::env::temp_dir().join(format!("glimpse-ui-jobs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let session = Session { class_names: vec!["negative".into()], complete: true, ..Session::default() };
        let ron = dir.join("clip.session.ron");
        let saved = FileJob::save_session(session.clone(), &ron, || {}).expect("thread");
        assert!(matches!(finish(&saved), JobMessage::Done { written } if written.path == ron));
        assert_eq!(Session::load(&ron).expect("loads back"), session);
        let csv = dir.join("clip.intervals.csv");
        let exported = FileJob::export(session, ExportFormat::Intervals, &csv, || {}).expect("thread");
        assert!(matches!(finish(&exported), JobMessage::Done { written } if written.path == csv));
        assert!(csv.is_file());
    }

    #[test]
    fn a_failed_export_is_reported_not_panicked() {
        // The annotated video needs a source to re-decode; this session has none.
        let session = Session::default();
        let path = std::env::temp_dir().join(format!("glimpse-ui-jobs-fail-{}.mp4", std::process::id()));
        let job = FileJob::export(session, ExportFormat::Video, &path, || {}).expect("thread");
        assert!(matches!(finish(&job), JobMessage::Failed { error } if error.contains("no source")));
    }

    /// File ▸ Export ▸ Timeline: the timeline's rectangle of a window
    /// screenshot becomes the PNG, written off the UI thread.
    #[test]
    fn a_png_job_writes_the_cropped_part_of_the_screenshot() {
        use eframe::egui::{pos2, Color32, ColorImage, Rect};
        use opencv::core::{MatTraitConst, Vec3b};
        let dir = std::env::temp_dir().join(format!("glimpse-png-job-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut image = ColorImage::filled([200, 100], Color32::from_rgb(10, 20, 30));
        // The "timeline": a red band at rows 60..100.
        for pixel in &mut image.pixels[60 * 200..] {
            *pixel = Color32::from_rgb(250, 0, 0);
        }
        let path = dir.join("clip.timeline.png");
        let crop = Rect::from_min_max(pos2(0.0, 60.0), pos2(200.0, 100.0));
        let job = FileJob::png(std::sync::Arc::new(image), Some(crop), &path, || {}).expect("job");
        assert!(matches!(finish(&job), JobMessage::Done { written } if written.path == path));
        let png = opencv::imgcodecs::imread(path.to_str().expect("utf-8"), opencv::imgcodecs::IMREAD_COLOR)
            .expect("reads back");
        assert_eq!((png.cols(), png.rows()), (200, 40));
        assert_eq!(*png.at_2d::<Vec3b>(20, 100).expect("pixel"), Vec3b::from([0, 0, 250]), "BGR red");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
