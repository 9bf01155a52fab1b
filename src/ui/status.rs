//! The status bar: the disclaimer, the device, analysis and file-job
//! progress, and the newest notice on the disclaimer's line, so that the
//! bar stays low in a small window (the notice area over the video shows more).
use eframe::egui::{self, Color32, RichText};

use super::colours::on_panel;
use super::jobs::FileJob;
use super::notices::Notices;
use crate::pipeline::Progress;

pub const DISCLAIMER: &str = "Results are candidates for expert review, not a lie detector.";

/// What the status bar shows.
pub struct Status<'a> {
    /// Shown once a file analysis has been started (live sessions show it
    /// in their panel).
    pub device: Option<&'a str>,
    pub progress: Option<Progress>,
    pub analysing: bool,
    pub file_job: Option<&'a FileJob>,
}

/// Draws the bar; `true` when the analysis's Cancel was clicked.
pub fn status_ui(ui: &mut egui::Ui, status: Status, notices: &mut Notices) -> bool {
    let mut cancel = false;
    ui.horizontal(|ui| {
        let amber = on_panel(Color32::from_rgb(240, 190, 80), ui.visuals().dark_mode);
        ui.label(RichText::new(DISCLAIMER).italics().color(amber));
        if let Some(device) = status.device {
            ui.separator();
            ui.label(format!("device: {device}"));
        }
        // On the disclaimer's line: one line less under the video.
        if !notices.is_empty() {
            ui.separator();
            notices.newest_ui(ui);
        }
    });
    if let Some(progress) = status.progress {
        let running = status.analysing;
        ui.horizontal(|ui| {
            let fraction =
                progress.frames_total.filter(|&t| t > 0).map_or(0.0, |t| progress.frames_done as f32 / t as f32);
            let text = match (running, progress.eta_s()) {
                (true, Some(eta)) => format!("analysing: {} frames, {:.0} s left", progress.frames_done, eta),
                (true, None) => format!("analysing: {} frames", progress.frames_done),
                (false, _) => format!("analysed {} frames in {:.1} s", progress.frames_done, progress.elapsed_s),
            };
            ui.add(egui::ProgressBar::new(if running { fraction } else { 1.0 }).text(text).desired_width(420.0));
            cancel = running && ui.button("Cancel").on_hover_text("Stop the analysis; what it found so far is kept").clicked();
        });
    }
    if let Some(job) = status.file_job {
        let (done, total) = job.progress.unwrap_or((0, 0));
        let fraction = if total > 0 { done as f32 / total as f32 } else { 0.0 };
        ui.add(egui::ProgressBar::new(fraction).text(format!("{}… {done}/{total}", job.what)).desired_width(420.0));
    }
    cancel
}
