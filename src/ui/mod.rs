//! The desktop app for reviewing recorded videos: open a video (dialog, drag
//! and drop or command line), watch the analysis fill in as it runs, play it
//! back with overlays, read the class probabilities on a timeline, review
//! the spotted events, save and export.
//!
//! One module per concern; the UI thread never does the heavy work.
mod app;
mod autosave;
pub mod colours;
mod document;
pub mod events;
mod export_folder;
mod exports;
mod files;
mod jobs;
mod layout;
pub mod live_panel;
mod live_session;
mod menu;
mod notice_area;
mod notices;
pub mod overlay;
mod overwrite;
mod playback;
mod recovery;
pub mod region_motion;
mod review;
mod screenshot;
mod scripted;
mod session_panels;
pub mod settings;
mod status;
pub mod timeline;
mod transport;
mod unsaved;
#[cfg(test)]
mod window_tests;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::device::ChosenDevice;
use crate::pipeline::AnalysisOptions;

pub use app::GlimpseApp;
pub use status::DISCLAIMER;

/// What the command line asked for.
#[derive(Clone, Debug, Default)]
pub struct AppLaunch {
    pub video: Option<PathBuf>,
    pub screenshot_dir: Option<PathBuf>,
    pub exit_after_analysis: bool,
    /// Pipeline options (weights, detector…); sensitivity comes from the settings.
    pub options: AnalysisOptions,
    /// The device every run of this window uses, chosen once by `main`.
    pub device: ChosenDevice,
    /// A video to offer as a live source, played at its own pace.
    pub live_file: Option<PathBuf>,
    /// Start a live session at once (from `live_file` if given, else the camera).
    pub start_live: bool,
    /// Measure the UI during a live session, write the JSON here and close
    /// the window when the source ends (`glimpse bench ui`).
    pub bench_ui: Option<PathBuf>,
    /// Where live sessions go this run (overrides the settings).
    pub live_dir: Option<PathBuf>,
    /// What classifies events this run (`--classifier`; overrides the settings).
    pub classifier: Option<crate::pipeline::Classifier>,
}

/// The outcome of a scripted run, read by `main` after the window closes.
pub type ScriptOutcome = Arc<Mutex<Option<Result<Vec<PathBuf>, String>>>>;

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
            .with_inner_size(if scripted { layout::SCREENSHOT_WINDOW } else { layout::DEFAULT_WINDOW })
            .with_min_inner_size(layout::MIN_WINDOW)
            .with_drag_and_drop(true),
        ..Default::default()
    };
    let app_outcome = Arc::clone(&outcome);
    eframe::run_native(
        "Glimpse",
        options,
        Box::new(move |cc| {
            let (screenshot_dir, exit_after, bench) =
                (launch.screenshot_dir.clone(), launch.exit_after_analysis, launch.bench_ui.clone());
            let app = GlimpseApp::new(&cc.egui_ctx, launch);
            Ok(if scripted {
                Box::new(scripted::ScriptedApp::new(app, screenshot_dir, exit_after, bench, app_outcome))
            } else {
                Box::new(app)
            })
        }),
    )
    .map_err(|e| AppError::Window(crate::error_text::error_chain(&e)))?;
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
