//! The desktop app for reviewing recorded videos: open a video (dialog, drag
//! and drop or command line), watch the analysis fill in as it runs, play it
//! back with overlays, read the class probabilities on a timeline, review
//! the spotted events, save and export.
//!
//! One module per concern; the UI thread never does the heavy work.
mod analysis;
mod app;
pub mod colours;
pub mod events;
mod jobs;
pub mod live;
pub mod overlay;
mod playback;
mod screenshot;
pub mod settings;
pub mod timeline;

use std::sync::{Arc, Mutex};

pub use app::{AppLaunch, GlimpseApp, ScriptOutcome, DISCLAIMER};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the window could not be opened: {0}")]
    Window(String),
    #[error("screenshot run: {0}")]
    Script(String),
}

/// Opens the window and runs until it is closed. With a screenshot
/// directory, returns the PNGs written.
pub fn run_app(launch: AppLaunch) -> Result<Vec<std::path::PathBuf>, AppError> {
    let scripted = launch.screenshot_dir.is_some() || launch.bench_ui.is_some();
    let outcome: ScriptOutcome = Arc::new(Mutex::new(None));
    let options = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("Glimpse")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([720.0, 480.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    let app_outcome = Arc::clone(&outcome);
    eframe::run_native(
        "Glimpse",
        options,
        Box::new(move |cc| Ok(Box::new(GlimpseApp::new(&cc.egui_ctx, launch, app_outcome)))),
    )
    .map_err(|e| AppError::Window(e.to_string()))?;
    if !scripted {
        return Ok(Vec::new());
    }
    let result = outcome.lock().map_err(|_| AppError::Script("the outcome lock was poisoned".into()))?.take();
    match result {
        Some(Ok(paths)) => Ok(paths),
        Some(Err(e)) => Err(AppError::Script(e)),
        None => Err(AppError::Script("the window closed before the screenshots were taken".into())),
    }
}
