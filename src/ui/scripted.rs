//! The window driven by a script instead of a person: `--screenshot-dir`
//! (see `screenshot`) and `glimpse bench ui`. It wraps the app and acts
//! after each of its frames, so the app itself knows nothing of scripts.
use std::path::PathBuf;
use std::time::{Duration, Instant};

use eframe::egui;

use super::app::{GlimpseApp, Mode};
use super::files::to_pixels;
use super::live_panel::LiveAction;
use super::screenshot::{write_png, ScreenshotScript, ScriptStage};
use super::ScriptOutcome;
use crate::bench::ui::UiSamples;
use crate::pipeline::live_run::LiveStats;

/// `glimpse bench ui` in progress.
struct UiBenchRun {
    out: PathBuf,
    samples: UiSamples,
    started: Option<Instant>,
    last_frame: Option<Instant>,
}

pub struct ScriptedApp {
    app: GlimpseApp,
    screenshots: Option<ScreenshotScript>,
    bench: Option<UiBenchRun>,
    outcome: ScriptOutcome,
}

impl ScriptedApp {
    pub fn new(
        app: GlimpseApp,
        screenshot_dir: Option<PathBuf>,
        exit_after: bool,
        bench_out: Option<PathBuf>,
        outcome: ScriptOutcome,
    ) -> Self {
        let mut app = app;
        // The screenshots are taken at their own size, filling an Xvfb
        // screen of that size.
        app.fitted_to_screen = true;
        Self {
            app,
            screenshots: screenshot_dir.map(|dir| ScreenshotScript::new(dir, exit_after)),
            bench: bench_out.map(|out| UiBenchRun {
                out,
                samples: UiSamples::default(),
                started: None,
                last_frame: None,
            }),
            outcome,
        }
    }

    fn finish(&self, ctx: &egui::Context, outcome: Result<Vec<PathBuf>, String>) {
        if let Ok(mut slot) = self.outcome.lock() {
            *slot = Some(outcome);
        }
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }

    fn bench_frame(&mut self, frame: &eframe::Frame) {
        let Mode::Live(live) = &self.app.mode else { return };
        let Some(bench) = &mut self.bench else { return };
        let now = Instant::now();
        if live.texture.is_some() {
            bench.started.get_or_insert(now);
            if let Some(last) = bench.last_frame {
                bench.samples.frame_interval_ms.push(now.duration_since(last).as_secs_f32() * 1e3);
            }
            bench.last_frame = Some(now);
            if let Some(cpu) = frame.info().cpu_usage {
                bench.samples.frame_cpu_ms.push(cpu * 1e3);
            }
        }
        if let Some(captured_at) = live.fresh_capture.filter(|_| live.shown_index.is_some()) {
            bench.samples.capture_to_overlay_ms.push(now.duration_since(captured_at).as_secs_f32() * 1e3);
        }
    }

    fn finish_bench(&mut self, ctx: &egui::Context, stats: LiveStats) {
        let Some(mut bench) = self.bench.take() else { return };
        bench.samples.wall_s = match (bench.started, bench.last_frame) {
            (Some(first), Some(last)) => last.duration_since(first).as_secs_f64(),
            _ => 0.0,
        };
        let clip = self.app.live_panel.file.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        let mut report = crate::bench::ui::summarize(
            &bench.samples,
            &clip,
            &self.app.device.line,
            stats.capture_fps,
            stats.analysed,
            stats.dropped,
        );
        report.classifier = self.app.run_options().classifier.name().to_string();
        if let Some(session) = &self.app.doc.session {
            report.events = session.events.len();
            report.events_with_mol = session.events.iter().filter(|e| !e.mol_probabilities.is_empty()).count();
        }
        let outcome = serde_json::to_vec_pretty(&report)
            .map_err(|e| e.to_string())
            .and_then(|json| {
                crate::files::write_atomic(&bench.out, &json).map_err(|e| crate::error_text::error_chain(&e))
            })
            .map(|()| vec![bench.out.clone()]);
        self.finish(ctx, outcome);
    }

    /// A scripted live run: once the second event is on screen (held after
    /// its offset), shoot `live.png` and stop; the stopped session is then
    /// shot as a review like any other.
    fn run_live_script(&mut self, ctx: &egui::Context) {
        let Mode::Live(live) = &self.app.mode else { return };
        let session = self.app.doc.session.as_ref();
        let shown_t = live.shown_index.and_then(|i| session.and_then(|s| s.frame_by_index(i)).map(|f| f.timestamp_s));
        let event_on_screen = match (session, shown_t) {
            (Some(session), Some(t)) => {
                session.events.len() >= 2 && session.events.iter().any(|e| (0.2..=2.0).contains(&(t - e.offset_s)))
            }
            _ => false,
        };
        let Some(script) = &mut self.screenshots else { return };
        if event_on_screen {
            script.request_extra(ctx);
        }
        if let Some(written) = script.write_extra("live.png") {
            if let Err(e) = written {
                self.app.notices.error(crate::error_text::error_chain(&e));
            }
            self.app.handle_live_action(LiveAction::Stop);
        }
        ctx.request_repaint_after(Duration::from_millis(50));
    }

    fn run_script(&mut self, ctx: &egui::Context) {
        if self.screenshots.is_none() {
            return;
        }
        let Mode::Review(review) = &mut self.app.mode else { return self.run_live_script(ctx) };
        let doc = &mut self.app.doc;
        let analysis_running = review.analysis.is_some();
        let strongest_apex = doc.session.as_ref().and_then(|s| {
            s.events.iter().max_by(|a, b| a.score.total_cmp(&b.score)).map(|e| (e.apex_frame, e.face_id))
        });
        let shown = review.video.as_ref().and_then(|v| v.shown_index);
        let halfway = review.progress.and_then(|p| p.frames_total.map(|t| p.frames_done * 2 >= t)).unwrap_or(false);
        let Some(script) = &mut self.screenshots else { return };
        if analysis_running && halfway {
            script.request_extra(ctx);
        }
        if let Some(Err(e)) = script.write_extra("during-analysis.png") {
            self.app.notices.error(crate::error_text::error_chain(&e));
        }
        let mut outcome = None;
        match &mut script.stage {
            ScriptStage::WaitingForAnalysis => {
                if !analysis_running && doc.session.is_some() {
                    let (frame, face) = strongest_apex.unwrap_or((0, 0));
                    if strongest_apex.is_some() {
                        doc.selected_face = Some(face);
                    }
                    script.stage = ScriptStage::Seeking { frame, frames_shown: 0 };
                    review.jump(doc.session.as_ref(), frame);
                } else if !analysis_running && review.video.is_none() {
                    // Nothing will ever arrive: report instead of waiting forever.
                    script.stage = ScriptStage::Done;
                    let errors = self.app.notices.errors().join("; ");
                    outcome = Some((Err(format!("no video could be opened: {errors}")), true));
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
                    let shots = [
                        ("main.png", None),
                        ("timeline.png", self.app.timeline_rect.map(|r| to_pixels(r, ppp))),
                        ("events.png", self.app.events_rect.map(|r| to_pixels(r, ppp))),
                    ];
                    let mut written = std::mem::take(&mut script.written);
                    let mut failure = None;
                    for (name, crop) in shots {
                        let path = script.dir.join(name);
                        match write_png(&image, crop, &path) {
                            Ok(()) => written.push(path),
                            Err(e) => failure = Some(crate::error_text::error_chain(&e)),
                        }
                    }
                    let result = match failure {
                        Some(e) => Err(e),
                        None if doc.session.as_ref().is_some_and(|s| s.complete) => Ok(written),
                        None => Err(format!("the analysis did not complete: {}", self.app.notices.errors().join("; "))),
                    };
                    script.stage = ScriptStage::Done;
                    outcome = Some((result, script.exit_after));
                }
                ctx.request_repaint();
            }
            ScriptStage::Done => {}
        }
        if let Some((result, close)) = outcome {
            if let Ok(mut slot) = self.outcome.lock() {
                *slot = Some(result);
            }
            if close {
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
        if !matches!(self.screenshots.as_ref().map(|s| &s.stage), Some(ScriptStage::Done) | None) {
            ctx.request_repaint_after(Duration::from_millis(50));
        }
    }
}

impl eframe::App for ScriptedApp {
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        self.app.logic(ctx, frame);
        if let Some(stats) = self.app.live_ended.take() {
            self.finish_bench(ctx, stats);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        self.app.ui(ui, frame);
        let ctx = ui.ctx().clone();
        self.run_script(&ctx);
        self.bench_frame(frame);
    }

    fn on_exit(&mut self, gl: Option<&eframe::glow::Context>) {
        self.app.on_exit(gl);
    }
}
