//! Review mode: a recorded video played back under its session, and the
//! file analysis that fills the session in while it runs. Decoding and the
//! analysis run on their own threads; this only drains them and draws.
use std::path::{Path, PathBuf};

use eframe::egui;

use super::document::Document;
use super::notices::Notices;
use super::overlay::{draw_overlays, FrameToScreen, OverlayOptions};
use super::playback::FrameDecoder;
use super::settings::Settings;
use crate::pipeline::live_save::ReviewLog;
use crate::pipeline::{AnalysisOptions, AnalysisRun, Progress, RunMessage, RunSource};
use crate::session::carry::{carry_reviews, Precedence};
use crate::session::{Event, Session};

/// The video being reviewed.
pub struct OpenVideo {
    pub path: PathBuf,
    pub width: i32,
    pub nominal_fps: f64,
    pub frame_count: u64,
    decoder: Option<FrameDecoder>,
    texture: Option<egui::TextureHandle>,
    pub shown_index: Option<u64>,
    requested_index: Option<u64>,
}

pub struct Playhead {
    pub frame: u64,
    pub playing: bool,
    pub speed: f32,
    /// Where playing started (or last seeked, or changed speed).
    clock: Option<PlaybackClock>,
}

impl Default for Playhead {
    fn default() -> Self {
        Self { frame: 0, playing: false, speed: 1.0, clock: None }
    }
}

/// Playback time: the frame shown follows wall time from where playing
/// started, at `speed`, whether or not the decoder kept up. A slow decoder
/// shows fewer frames (it decodes the newest one asked for); it never slows
/// the clock, so half a second of expression takes half a second at 1×.
#[derive(Clone, Copy, Debug, PartialEq)]
struct PlaybackClock {
    started_s: f64,
    from_frame: u64,
    speed: f32,
}

impl PlaybackClock {
    fn frame_at(&self, now_s: f64, fps: f64) -> u64 {
        let frames = (now_s - self.started_s).max(0.0) * fps * f64::from(self.speed);
        self.from_frame + (frames + 1e-9).floor() as u64
    }
}

/// How a file analysis ended.
enum Ending {
    Finished,
    Failed(String),
    Cancelled,
}

/// A file analysis in progress.
pub struct FileAnalysis {
    pub run: AnalysisRun,
    /// Verdicts given while it runs: the session it ends with gets them.
    pub reviews: ReviewLog,
    /// Reviewed events of an earlier analysis of the source (a re-analysis,
    /// or autosaved edits): carried onto the session it ends with.
    pub carry: Vec<Event>,
}

#[derive(Default)]
pub struct ReviewMode {
    pub video: Option<OpenVideo>,
    pub playhead: Playhead,
    pub analysis: Option<FileAnalysis>,
    /// The last analysis's progress; kept once it has finished.
    pub progress: Option<Progress>,
}

impl ReviewMode {
    /// A fresh review, playing at `speed` as the last one did.
    pub fn with_speed(speed: f32) -> Self {
        Self { playhead: Playhead { speed, ..Playhead::default() }, ..Self::default() }
    }

    /// Opens `path` for playback: a video, or a folder of numbered frames
    /// played at `folder_fps`.
    pub fn open_video(
        &mut self,
        path: &Path,
        folder_fps: f64,
        wake: impl Fn() + Send + 'static,
        notices: &mut Notices,
    ) {
        self.playhead = Playhead { speed: self.playhead.speed, ..Playhead::default() };
        let info = match crate::capture::open(path, Some(folder_fps)) {
            Ok(source) => source.info().clone(),
            Err(e) => {
                notices.error(crate::error_text::error_chain(&e));
                self.video = None;
                return;
            }
        };
        let decoder = match FrameDecoder::open(path, wake) {
            Ok(decoder) => Some(decoder),
            Err(e) => {
                notices.error(crate::error_text::error_chain(&e));
                None
            }
        };
        self.video = Some(OpenVideo {
            path: path.to_path_buf(),
            width: info.width,
            nominal_fps: info.nominal_fps,
            frame_count: info.frame_count.unwrap_or(0),
            decoder,
            texture: None,
            shown_index: None,
            requested_index: None,
        });
    }

    pub fn start_analysis(
        &mut self,
        path: &Path,
        options: AnalysisOptions,
        device: tch::Device,
        carry: Vec<Event>,
        wake: impl Fn() + Send + 'static,
        notices: &mut Notices,
    ) {
        self.progress = None;
        // A short clip (a data set's onset-to-apex frames) is classified as
        // one event; anything else is spotted in.
        match AnalysisRun::start(RunSource::FileOrClip(path.to_path_buf()), options, device, wake) {
            Ok(run) => self.analysis = Some(FileAnalysis { run, reviews: ReviewLog::default(), carry }),
            Err(e) => notices.error(format!("cannot start the analysis thread: {e}")),
        }
    }

    pub fn poll_analysis(&mut self, doc: &mut Document, notices: &mut Notices) {
        let Some(analysis) = &self.analysis else { return };
        let messages: Vec<RunMessage> = analysis.run.messages.try_iter().collect();
        // The session the run ends with (none: the one on screen), and what to say of it.
        let mut ended: Option<(Option<Session>, Ending)> = None;
        let mut taken_as_clip = None;
        for message in messages {
            match message {
                RunMessage::Started { session, .. } => doc.take_session(*session),
                RunMessage::Update { delta, progress, .. } => {
                    doc.apply_delta(delta);
                    self.progress = Some(progress);
                }
                RunMessage::Finished(run) => {
                    let run = *run;
                    self.progress = Some(run.progress);
                    taken_as_clip = run.clip;
                    ended = Some((Some(run.session), Ending::Finished));
                }
                RunMessage::Failed { session, error, .. } => {
                    ended = Some((session.map(|s| *s), Ending::Failed(error.to_string())));
                }
                RunMessage::Cancelled { session } => ended = Some((Some(*session), Ending::Cancelled)),
                RunMessage::Warning(_) | RunMessage::SourceLost { .. } | RunMessage::SourceBack => {}
            }
        }
        let Some((session, ending)) = ended else { return };
        let Some(mut session) = session.or_else(|| doc.session.take()) else {
            self.analysis = None;
            if let Ending::Failed(error) = ending {
                notices.error(format!("analysis stopped: {error}"));
            }
            return;
        };
        let Some(analysis) = self.analysis.take() else { return };
        analysis.reviews.apply_to(&mut session);
        let carried = carry_reviews(analysis.carry, &mut session, Precedence::Existing);
        doc.take_session(session);
        match ending {
            Ending::Finished => {
                if let Some(clip) = taken_as_clip {
                    notices.notice(clip.notice());
                }
            }
            Ending::Failed(error) => notices.error(format!("analysis stopped: {error} (the results so far are kept)")),
            Ending::Cancelled => notices.notice("analysis cancelled (the results so far are kept)"),
        }
        if carried.total() > 0 {
            // The verdicts live only in this window now.
            doc.dirty = true;
            doc.revision += 1;
            let mut text = format!("{} review verdict(s) carried over to the new events", carried.onto_events);
            if carried.not_spotted > 0 {
                text += &format!(
                    "; {} reviewed event(s) no longer spotted, kept under \"Reviewed, no longer spotted\"",
                    carried.not_spotted
                );
            }
            notices.notice(text + " (not saved yet)");
        }
    }

    pub fn fps(&self, session: Option<&Session>) -> f64 {
        let measured = session.map(Session::fps).unwrap_or(0.0);
        if measured > 0.0 {
            measured
        } else {
            self.video.as_ref().map_or(0.0, |v| v.nominal_fps)
        }
    }

    pub fn frame_count(&self, session: Option<&Session>) -> u64 {
        let from_video = self.video.as_ref().map_or(0, |v| v.frame_count);
        let from_session = session.filter(|s| s.complete).map_or(0, |s| s.source.frame_count);
        if from_session > 0 {
            from_session
        } else {
            from_video
        }
    }

    pub fn time_of_frame(&self, session: Option<&Session>, index: u64) -> f64 {
        if let Some(record) = session.and_then(|s| s.frame_by_index(index)) {
            return record.timestamp_s;
        }
        let fps = self.fps(session);
        if fps > 0.0 {
            index as f64 / fps
        } else {
            0.0
        }
    }

    pub fn duration_s(&self, session: Option<&Session>) -> f64 {
        let fps = self.fps(session);
        let from_count = if fps > 0.0 { self.frame_count(session) as f64 / fps } else { 0.0 };
        session.map_or(0.0, Session::duration_s).max(from_count)
    }

    pub fn seek(&mut self, session: Option<&Session>, frame: u64) {
        let last = self.frame_count(session).saturating_sub(1);
        self.playhead.frame = frame.min(last);
        self.playhead.clock = None;
    }

    /// Stops playing and goes to `frame`.
    pub fn jump(&mut self, session: Option<&Session>, frame: u64) {
        self.playhead.playing = false;
        self.seek(session, frame);
    }

    pub fn poll_decoder(&mut self, ctx: &egui::Context, notices: &mut Notices) {
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
            notices.error_once(e);
        }
    }

    pub fn advance_playback(&mut self, ctx: &egui::Context, session: Option<&Session>) {
        if !self.playhead.playing {
            self.playhead.clock = None;
            return;
        }
        let fps = self.fps(session);
        let last = self.frame_count(session).saturating_sub(1);
        if fps <= 0.0 || self.playhead.frame >= last {
            self.playhead.playing = false;
            self.playhead.clock = None;
            return;
        }
        let now = ctx.input(|i| i.time);
        let playhead = &mut self.playhead;
        let clock = match playhead.clock {
            Some(clock) if clock.speed == playhead.speed => clock,
            // Started, seeked or a new speed: time counts from here.
            _ => *playhead.clock.insert(PlaybackClock {
                started_s: now,
                from_frame: playhead.frame,
                speed: playhead.speed,
            }),
        };
        playhead.frame = clock.frame_at(now, fps).min(last);
        ctx.request_repaint();
    }

    pub fn handle_keys(&mut self, ctx: &egui::Context, session: Option<&Session>) {
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let (space, left, right) = ctx.input(|i| {
            (i.key_pressed(egui::Key::Space), i.key_pressed(egui::Key::ArrowLeft), i.key_pressed(egui::Key::ArrowRight))
        });
        let (home, end, next, previous) = ctx.input(|i| {
            let pressed = |keys: &[egui::Key]| keys.iter().any(|&k| i.key_pressed(k));
            (
                pressed(&[egui::Key::Home]),
                pressed(&[egui::Key::End]),
                pressed(&[egui::Key::PageDown, egui::Key::N]),
                pressed(&[egui::Key::PageUp, egui::Key::P]),
            )
        });
        if space {
            self.playhead.playing = !self.playhead.playing;
        }
        if home {
            self.jump(session, 0);
        }
        if end {
            self.jump(session, self.frame_count(session).saturating_sub(1));
        }
        if next || previous {
            let current = self.playhead.frame;
            let mut onsets: Vec<u64> =
                session.map(|s| s.events.iter().map(|e| e.onset_frame).collect()).unwrap_or_default();
            onsets.sort_unstable();
            let target =
                if next { onsets.iter().find(|&&f| f > current) } else { onsets.iter().rev().find(|&&f| f < current) };
            if let Some(&frame) = target {
                self.jump(session, frame);
            }
        }
        if left {
            self.jump(session, self.playhead.frame.saturating_sub(1));
        }
        if right {
            self.jump(session, self.playhead.frame + 1);
        }
    }

    pub fn video_view(&self, ui: &mut egui::Ui, session: Option<&Session>, settings: &Settings) {
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
            if let Some(session) = session {
                let options = OverlayOptions {
                    heatmap: settings.heatmap,
                    heatmap_opacity: settings.heatmap_opacity,
                    mol: settings.mol_overlay,
                    hold_s: 0.0,
                };
                let painter = ui.painter_at(response.rect);
                draw_overlays(&painter, FrameToScreen::new(response.rect, frame_width), session, shown, &options);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SourceMeta;

    /// A 30 fps, 1000-frame session and the review of it, with no video
    /// decoder at all: the slowest decoder there is.
    fn review() -> (ReviewMode, Session) {
        let session = Session {
            source: SourceMeta { measured_fps: 30.0, frame_count: 1000, ..SourceMeta::default() },
            complete: true,
            ..Session::default()
        };
        let review = ReviewMode { video: None, playhead: Playhead::default(), analysis: None, progress: None };
        (review, session)
    }

    /// Runs the UI's playback step at each time (seconds).
    fn play(review: &mut ReviewMode, session: &Session, ctx: &egui::Context, times: impl Iterator<Item = f64>) {
        for t in times {
            ctx.begin_pass(egui::RawInput { time: Some(t), ..Default::default() });
            review.advance_playback(ctx, Some(session));
            let _ = ctx.end_pass();
        }
    }

    #[test]
    fn playback_keeps_wall_time_at_every_speed_whatever_the_decoder() {
        let ctx = egui::Context::default();
        let (mut review, session) = review();
        review.playhead.playing = true;
        // 5.25 s of 10-Hz UI frames at 1×: frame 157 (5.25 × 30), not the
        // half that waiting for each decoded frame gave.
        play(&mut review, &session, &ctx, (0..=105).map(|k| f64::from(k) * 0.05));
        assert_eq!(review.playhead.frame, 157);
        // 2× for 1 s more: 60 frames further.
        review.playhead.speed = 2.0;
        play(&mut review, &session, &ctx, (0..=10).map(|k| 5.25 + f64::from(k) * 0.1));
        assert_eq!(review.playhead.frame, 217);
        // A seek restarts the clock at the new frame; ¼× for 2 s: 15 frames.
        review.seek(Some(&session), 500);
        review.playhead.speed = 0.25;
        play(&mut review, &session, &ctx, (0..=20).map(|k| 7.0 + f64::from(k) * 0.1));
        assert_eq!(review.playhead.frame, 515);
        // Paused: the clock stops; playing again resumes from there.
        review.playhead.playing = false;
        play(&mut review, &session, &ctx, [10.0, 20.0].into_iter());
        review.playhead.playing = true;
        review.playhead.speed = 1.0;
        play(&mut review, &session, &ctx, [20.0, 21.0].into_iter());
        assert_eq!(review.playhead.frame, 545);
        // The end stops it.
        play(&mut review, &session, &ctx, [60.0, 60.1].into_iter());
        assert_eq!((review.playhead.frame, review.playhead.playing), (999, false));
    }
}
