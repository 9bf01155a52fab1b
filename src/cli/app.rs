//! `glimpse app` (the desktop app, also what `glimpse` alone opens) and
//! `glimpse bench ui` (the window timed during a live session).
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use glimpse::device::{ChosenDevice, DeviceChoice, ThreadUse};
use glimpse::pipeline::{AnalysisOptions, Classifier};

#[derive(clap::Args, Default)]
pub struct AppArgs {
    /// A video to analyse, or a session (.ron/.json) to review.
    pub video: Option<PathBuf>,
    /// Once the analysis has finished, save PNG screenshots of the window,
    /// the timeline and the event list here.
    #[arg(long)]
    pub screenshot_dir: Option<PathBuf>,
    /// Close the window after the screenshots (for scripted runs).
    #[arg(long, requires = "screenshot_dir")]
    pub exit_after_analysis: bool,
    /// EPIR weights (the config RON beside them; default: the installed ones).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Offer this video as a live source, played at its own pace as if it
    /// were a camera (to try the live view without one).
    #[arg(long)]
    pub live_file: Option<PathBuf>,
    /// Start a live session at once (the --live-file, else the camera in the settings).
    #[arg(long)]
    pub live: bool,
    /// Frame rate of a folder of numbered frames (default 200, as CASME II and SAMM record).
    #[arg(long)]
    pub fps: Option<f64>,
    /// What classifies events this run: epir, mol or both (default: the settings').
    #[arg(long, value_enum)]
    pub classifier: Option<Classifier>,
    /// MOL-lite weights (the config RON beside them; default: the installed ones).
    #[arg(long)]
    pub mol_weights: Option<PathBuf>,
}

pub fn run(args: AppArgs, device: ChosenDevice) -> Result<()> {
    let launch = glimpse::ui::AppLaunch {
        device,
        video: args.video,
        screenshot_dir: args.screenshot_dir,
        exit_after_analysis: args.exit_after_analysis,
        options: AnalysisOptions {
            weights: args.weights,
            mol_weights: args.mol_weights,
            folder_fps: args.fps,
            ..AnalysisOptions::default()
        },
        live_file: args.live_file,
        start_live: args.live,
        bench_ui: None,
        live_dir: None,
        classifier: args.classifier,
    };
    for path in glimpse::ui::run_app(launch)? {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// What `glimpse bench ui` runs with besides the clip.
pub struct BenchUiModels {
    pub weights: Option<PathBuf>,
    pub classifier: Classifier,
    pub mol_weights: Option<PathBuf>,
}

pub fn bench_ui(clip: PathBuf, out: PathBuf, models: BenchUiModels, device: ChosenDevice) -> Result<()> {
    if !clip.is_file() {
        bail!("{}: no such file", clip.display());
    }
    // MOL's weights are looked for now, so a missing file fails before the window opens.
    let options = AnalysisOptions {
        weights: models.weights,
        classifier: models.classifier,
        mol_weights: models.mol_weights,
        ..AnalysisOptions::default()
    };
    let mol_weights = match models.classifier.runs_mol() {
        true => Some(options.mol_weights_path()?),
        false => None,
    };
    // The live session's files go to a scratch folder, not the user's.
    let scratch = std::env::temp_dir().join(format!("glimpse-bench-ui-{}", std::process::id()));
    let launch = glimpse::ui::AppLaunch {
        device,
        live_file: Some(clip.clone()),
        start_live: true,
        bench_ui: Some(out.clone()),
        live_dir: Some(scratch.clone()),
        options: AnalysisOptions { mol_weights, ..options },
        classifier: Some(models.classifier),
        ..glimpse::ui::AppLaunch::default()
    };
    let result = glimpse::ui::run_app(launch);
    let _ = std::fs::remove_dir_all(&scratch);
    result.with_context(|| format!("benchmarking the UI on {}", clip.display()))?;
    let text = std::fs::read_to_string(&out).with_context(|| format!("reading {}", out.display()))?;
    let report: glimpse::bench::ui::UiBench =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", out.display()))?;
    say!("{}", glimpse::bench::ui::table(&report));
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// The window's device, chosen once at start-up: `--device` when given,
/// else the one in its settings. A device it cannot have is said in the
/// window, which runs on the CPU, rather than keeping it from opening.
pub fn choose_device(flag: Option<DeviceChoice>) -> ChosenDevice {
    let choice = flag.unwrap_or_else(|| {
        glimpse::ui::settings::settings_path()
            .map_or_else(DeviceChoice::default, |path| glimpse::ui::settings::load_settings(&path).settings.device)
    });
    let usage = ThreadUse::Pipeline;
    let chosen =
        ChosenDevice::choose(choice, flag, usage).unwrap_or_else(|e| ChosenDevice::cpu_because(&e, flag, usage));
    eprintln!("device: {}", chosen.line);
    chosen
}
