//! Live mode's logic: starting a run on the chosen source, draining its
//! messages into the window's session, recording the reviewer's verdicts,
//! and at the end saving the session (off the UI thread) with them.
use std::path::PathBuf;

use eframe::egui;

use super::colours::{BANNER_PLATE, BANNER_TEXT};
use super::document::Document;
use super::live_panel::{LiveSource, LiveView};
use super::notices::Notices;
use super::overlay::{draw_overlays, FrameToScreen, OverlayOptions};
use super::settings::Settings;
use crate::capture::CameraRequest;
use crate::pipeline::live_run::{open_camera, open_paced_file, LiveFrame, LiveStats, OpenFeed};
use crate::pipeline::live_save::{save_live_session, LiveEnd, ReviewLog, SavedLiveSession};
use crate::pipeline::RunMessage;
use crate::session::{Session, SessionError};

/// How long a live event stays drawn on the face after it ended: it is
/// reported about a second after its offset, so "during" never happens live.
const LIVE_EVENT_HOLD_S: f64 = 4.0;

/// A saved (or not) live session, back from the saving thread.
pub struct Saved {
    session: Session,
    result: Result<SavedLiveSession, SessionError>,
    recording: Option<Result<u64, String>>,
    failure: Option<String>,
}

/// How a live session ended, for the window to go back to review.
pub struct LiveEnded {
    pub session: Option<Session>,
    pub saved: Option<Result<PathBuf, String>>,
    pub recording: Option<Result<u64, String>>,
    pub failure: Option<String>,
    pub stats: LiveStats,
    /// Verdicts given while the session was being saved.
    pub unsaved_reviews: bool,
    /// The source ended by itself (a clip played to its end), not by Stop.
    pub source_ended: bool,
}

/// The feed for `source` and its name for the panel.
pub fn open_live_source(source: &LiveSource, camera: &CameraRequest) -> (OpenFeed, String) {
    match source {
        LiveSource::File(path) => (open_paced_file(path.clone()), format!("{} (played as a camera)", path.display())),
        LiveSource::Camera => {
            let name = format!(
                "camera {} ({}×{} {} at {} fps asked)",
                camera.index,
                camera.width,
                camera.height,
                if camera.prefer_mjpeg { "MJPEG" } else { "YUYV" },
                camera.fps
            );
            (open_camera(camera.clone()), name)
        }
    }
}

impl LiveView {
    /// Drains the run; says how the session ended once it is saved.
    pub fn poll(&mut self, ctx: &egui::Context, doc: &mut Document, notices: &mut Notices) -> Option<LiveEnded> {
        self.fresh_capture = None;
        if let Some(saved) = self.saving.as_ref().and_then(|s| s.try_recv().ok()) {
            return Some(self.saved(saved, notices));
        }
        let messages: Vec<RunMessage> = self.run.as_ref()?.messages.try_iter().collect();
        for message in messages {
            match message {
                RunMessage::Started { session, info, live } => {
                    self.frame_width = info.width as f32;
                    if let Some(live) = live {
                        self.paths = Some(live.paths);
                        self.reviews = ReviewLog::new(live.reviews);
                    }
                    doc.set_session(Some(*session));
                }
                RunMessage::Update { delta, live, .. } => {
                    if let Some(LiveFrame { preview, stats }) = live {
                        self.stats = stats;
                        if let Some(preview) = preview {
                            let image = egui::ColorImage::from_rgba_unmultiplied(
                                [preview.width, preview.height],
                                &preview.rgba,
                            );
                            match &mut self.texture {
                                Some(texture) => texture.set(image, egui::TextureOptions::LINEAR),
                                None => {
                                    self.texture =
                                        Some(ctx.load_texture("live-frame", image, egui::TextureOptions::LINEAR))
                                }
                            }
                            self.shown_index = preview.index;
                            self.fresh_capture = Some(preview.captured_at);
                        }
                    }
                    doc.apply_delta(delta);
                }
                RunMessage::SourceLost { error } => self.lost = Some(error),
                RunMessage::SourceBack => {
                    self.lost = None;
                    notices.notice("the source is back; the session goes on");
                }
                RunMessage::Warning(warning) => notices.error(warning),
                RunMessage::Finished(finished) => {
                    let finished = *finished;
                    self.source_ended = !self.stopping;
                    return self.save(finished.session, finished.live, None, ctx);
                }
                RunMessage::Failed { error, session, live } => {
                    let failure = Some(crate::error_text::error_chain(&error));
                    return match session {
                        Some(session) => self.save(*session, live, failure, ctx),
                        None => Some(self.ended(None, None, None, failure)),
                    };
                }
                RunMessage::Cancelled { session } => return self.save(*session, None, None, ctx),
            }
        }
        None
    }

    /// Saves the ended session with the verdicts on its own thread.
    fn save(
        &mut self,
        session: Session,
        end: Option<LiveEnd>,
        failure: Option<String>,
        ctx: &egui::Context,
    ) -> Option<LiveEnded> {
        self.run = None;
        self.stopping = true;
        let Some(end) = end else { return Some(self.ended(Some(session), None, None, failure)) };
        let reviews = std::mem::take(&mut self.reviews);
        let failed = failure.clone();
        let (sender, receiver) = crossbeam_channel::bounded(1);
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new().name("glimpse-live-save".into()).spawn(move || {
            let mut session = session;
            let LiveEnd { paths, autosave, recording } = end;
            let result = save_live_session(&mut session, &paths, autosave, &reviews);
            let _ = sender.send(Saved { session, result, recording, failure });
            ctx.request_repaint();
        });
        match spawned {
            Ok(_) => {
                self.saving = Some(receiver);
                None
            }
            // The window keeps its copy, and the journal (dropped with the
            // thread's work) is kept: the next start offers to recover it.
            Err(e) => Some(self.ended(None, Some(Err(format!("cannot start saving: {e}"))), None, failed)),
        }
    }

    fn saved(&mut self, saved: Saved, notices: &mut Notices) -> LiveEnded {
        self.saving = None;
        let Saved { mut session, result, recording, failure } = saved;
        // Verdicts given while it was being saved: on screen, not yet on disk.
        let unsaved_reviews = !self.reviews.is_empty();
        self.reviews.apply_to(&mut session);
        let saved = match result {
            Ok(saved) => {
                if let Some(why) = saved.journal_left {
                    notices.error(why);
                }
                Ok(saved.path)
            }
            Err(e) => Err(crate::error_text::error_chain(&e)),
        };
        // A failed session is saved quietly and reviewed without its recording.
        let (saved, recording) = match failure {
            None => (Some(saved), recording),
            Some(_) => (None, None),
        };
        LiveEnded { unsaved_reviews, ..self.ended(Some(session), saved, recording, failure) }
    }

    fn ended(
        &self,
        session: Option<Session>,
        saved: Option<Result<PathBuf, String>>,
        recording: Option<Result<u64, String>>,
        failure: Option<String>,
    ) -> LiveEnded {
        LiveEnded {
            session,
            saved,
            recording,
            failure,
            stats: self.stats,
            unsaved_reviews: false,
            source_ended: self.source_ended,
        }
    }

    /// At exit: the session is stopped and saved before the process ends
    /// (the journal would restore it otherwise, but a clean save is better).
    pub fn finish_at_exit(&mut self) {
        if let Some(saving) = self.saving.take() {
            let _ = saving.recv();
            return;
        }
        let Some(run) = self.run.take() else { return };
        let (mut session, end) = match run.stop_and_wait() {
            Some(RunMessage::Finished(finished)) => (finished.session, finished.live),
            Some(RunMessage::Failed { session: Some(session), live, .. }) => (*session, live),
            _ => return,
        };
        if let Some(end) = end {
            let _ = save_live_session(&mut session, &end.paths, end.autosave, &self.reviews);
        }
    }

    /// The newest frame with its overlays; a spinner until the first.
    pub fn draw(&self, ui: &mut egui::Ui, session: Option<&Session>, settings: &Settings) {
        let Some(texture) = &self.texture else {
            ui.centered_and_justified(|ui| {
                ui.spinner();
            });
            return;
        };
        let [w, h] = texture.size();
        let available = ui.available_size();
        let scale = (available.x / w as f32).min(available.y / h as f32).max(0.05);
        let image = egui::Image::new((texture.id(), egui::vec2(w as f32 * scale, h as f32 * scale)));
        let frame_width = if self.frame_width > 0.0 { self.frame_width } else { w as f32 };
        ui.vertical_centered(|ui| {
            let response = ui.add(image);
            if let (Some(session), Some(index)) = (session, self.shown_index) {
                let options = OverlayOptions {
                    heatmap: settings.heatmap,
                    heatmap_opacity: settings.heatmap_opacity,
                    mol: settings.mol_overlay,
                    hold_s: LIVE_EVENT_HOLD_S,
                };
                let painter = ui.painter_at(response.rect);
                draw_overlays(&painter, FrameToScreen::new(response.rect, frame_width), session, index, &options);
            }
            if self.stats.paused {
                paused_banner(&ui.painter_at(response.rect), response.rect);
            }
        });
    }
}

/// The PAUSED banner at the top of the video, on a dark plate so that it
/// reads on light video too.
fn paused_banner(painter: &egui::Painter, video: egui::Rect) {
    let galley = painter.layout_no_wrap(
        "PAUSED: not analysed, not recorded".into(),
        egui::FontId::proportional(20.0),
        BANNER_TEXT,
    );
    let text_rect = egui::Rect::from_center_size(video.center_top() + egui::vec2(0.0, 24.0), galley.size());
    painter.rect_filled(text_rect.expand2(egui::vec2(10.0, 4.0)), 4.0, BANNER_PLATE);
    painter.galley(text_rect.min, galley, BANNER_TEXT);
}
