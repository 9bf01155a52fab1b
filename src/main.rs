//! The `glimpse` binary: process set-up (allocator, signals, FFmpeg's log
//! level), the subcommand table and the dispatch; the subcommands are in
//! `cli/`.
#[cfg(feature = "app")]
use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
#[cfg(feature = "app")]
use cli::analyze::{AnalyzeArgs, EvalSpottingArgs};
#[cfg(feature = "app")]
use cli::app::AppArgs;
#[cfg(feature = "app")]
use cli::pipeline_args::PipelineArgs;
use glimpse::device::{ChosenDevice, DeviceChoice, ThreadUse};

mod cli;

#[derive(Parser)]
#[command(name = "glimpse", version, about = "Micro-expression analysis with the EPIR transformer")]
struct Cli {
    /// Compute device, chosen once and printed (default: auto; the app's
    /// default is the device in its settings).
    #[arg(long, value_enum, global = true)]
    device: Option<DeviceChoice>,
    /// Without a command, the desktop app opens.
    #[command(subcommand)]
    command: Option<Command>,
}

// Parsed once per process: the size of its largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    #[cfg(feature = "app")]
    /// The desktop app: open a recorded video, review the analysis, export.
    App(AppArgs),
    #[cfg(feature = "app")]
    /// A live session without the window: camera (or a video played as
    /// one) → spotting → autosaved, recorded session.
    Live(cli::live::LiveArgs),
    #[cfg(feature = "app")]
    /// Bring back live sessions that did not close (crash, power cut) from their autosave.
    Recover {
        /// A journal, or a folder of them (default: ~/.local/share/glimpse/live).
        target: Option<PathBuf>,
    },
    #[cfg(feature = "app")]
    /// List the cameras the system has.
    Cameras,
    /// Train EPIR: leave-one-subject-out evaluation, or the shipped model on all data.
    Train(cli::train::TrainArgs),
    /// Score a weights file on a labelled flow data set.
    Eval(cli::eval::EvalArgs),
    /// Compare two LOSO reports: B - A on the subjects both scored, with paired bootstrap intervals.
    Compare(cli::compare::CompareArgs),
    /// Seed ensemble of LOSO runs that differ only in their seed: averaged class probabilities, scored as a report of its own.
    Ensemble(cli::ensemble::EnsembleArgs),
    #[cfg(feature = "app")]
    /// Analyse recorded videos (or image folders): faces, spotted
    /// micro-expressions, EPIR classes, timelines and exports.
    Analyze(AnalyzeArgs),
    #[cfg(feature = "app")]
    /// Classify short clips (a video, or a folder of frames as data sets ship them) each as
    /// one event: onset the first frame, apex the peak of facial motion (or both given).
    Classify(cli::classify::ClassifyArgs),
    #[cfg(feature = "app")]
    /// Score spotting and classification on clips with ground truth
    /// (`glimpse synth` writes `<clip>.truth.json` beside each clip).
    EvalSpotting(EvalSpottingArgs),
    /// Benchmarks; each prints a table and can write JSON.
    #[command(subcommand)]
    Bench(BenchCommand),
    #[cfg(feature = "app")]
    /// Render a synthetic micro-expression clip from the astronaut photo, with `<clip>.truth.json`.
    Synth(cli::synth::SynthArgs),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Parameters, per-layer FLOPs and forward latency (batch 1 and 32).
    Model(cli::bench::ModelBenchArgs),
    /// MOL-lite and the official MOL: parameters, per-layer FLOPs and the
    /// latency of one event (an 8-frame clip), CPU and GPU when present.
    Mol(cli::bench::MolBenchArgs),
    #[cfg(feature = "app")]
    /// The window during a live session: UI frame time and capture → overlay
    /// latency, with a video played as the camera (needs a display: Xvfb will do).
    Ui {
        /// The clip played as the camera (default: the installed demo clip).
        clip: Option<PathBuf>,
        #[arg(long, default_value = "target/bench/ui.json")]
        out: PathBuf,
        /// EPIR weights (default: the installed ones).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// What classifies the live session's events: epir, mol or both
        /// (MOL-lite's cost on the live path; `make bench-ui-mol`).
        #[arg(long, value_enum, default_value_t = glimpse::pipeline::Classifier::Epir)]
        classifier: glimpse::pipeline::Classifier,
        /// MOL-lite weights (default: the installed ones).
        #[arg(long)]
        mol_weights: Option<PathBuf>,
    },
    #[cfg(feature = "app")]
    /// Per-stage time of the analysis pipeline on a video, end-to-end fps
    /// against decoding alone, and peak memory.
    Pipeline {
        video: PathBuf,
        #[arg(long, default_value = "target/bench/pipeline.json")]
        out: PathBuf,
        #[command(flatten)]
        pipeline: PipelineArgs,
    },
}

fn main() {
    // A file grown past the size limit (ulimit -f, a quota) must fail its
    // write with an error we report, not kill the process mid-export.
    // SAFETY: setting a signal's disposition to ignore, before any thread starts.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    keep_the_heap_flat();
    // FFmpeg's own log lines ("moov atom not found") come before, and say
    // less than, the error we give for the same file; a user who wants
    // them sets the variable (OpenCV reads it when FFmpeg starts).
    if std::env::var_os("OPENCV_FFMPEG_LOGLEVEL").is_none() {
        std::env::set_var("OPENCV_FFMPEG_LOGLEVEL", "-8");
    }
    let cli = Cli::parse();
    if let Err(err) = run(cli) {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

/// Rust's allocations go to mimalloc, which keeps small objects of a size
/// in pages of their own. Under glibc's malloc the session's small records,
/// kept for the whole run, landed between frame-sized buffers freed thirty
/// times a second and pinned their pages: a 1-hour analysis crept from 510
/// to 605 MiB by 55,000 frames even with the fixes below
/// (reports/long-run-memory-*.csv). Counted, for `analyze --memory-log`.
#[global_allocator]
static ALLOCATOR: glimpse::heap::Counting<mimalloc::MiMalloc> = glimpse::heap::Counting(mimalloc::MiMalloc);

/// One glibc malloc arena for what OpenCV and libtorch allocate. With
/// glibc's default (up to eight per core), frames decoded on one thread and
/// freed on another left every arena holding freed memory: a 1-hour
/// analysis grew by 10 MiB per 1000 frames (985 MiB at 36,000 frames). The
/// analyzer also hands freed pages back now and then
/// (`Analyzer::push_detected`).
fn keep_the_heap_flat() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any
    // thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let flag = cli.device;
    let Some(command) = cli.command else {
        #[cfg(feature = "app")]
        return cli::app::run(AppArgs::default(), cli::app::choose_device(cli.device));
        #[cfg(not(feature = "app"))]
        {
            use clap::CommandFactory;
            Cli::command().print_help()?;
            return Ok(());
        }
    };
    // Each arm runs one command, so the device is chosen (and printed) once.
    match command {
        Command::Train(args) => cli::train::run(args, chosen_device(flag, ThreadUse::Default)?),
        Command::Eval(args) => cli::eval::run(args, chosen_device(flag, ThreadUse::Default)?),
        Command::Compare(args) => cli::compare::run(args),
        Command::Ensemble(args) => cli::ensemble::run(args),
        Command::Bench(BenchCommand::Model(args)) => cli::bench::run(args, chosen_device(flag, ThreadUse::Default)?),
        Command::Bench(BenchCommand::Mol(args)) => cli::bench::mol(args, chosen_device(flag, ThreadUse::Default)?),
        #[cfg(feature = "app")]
        Command::Bench(BenchCommand::Pipeline { video, out, pipeline }) => {
            cli::bench::pipeline(&video, &out, &pipeline.options()?, chosen_device(flag, ThreadUse::Default)?)
        }
        #[cfg(feature = "app")]
        Command::Analyze(args) => cli::analyze::run(args, chosen_device(flag, ThreadUse::Pipeline)?),
        #[cfg(feature = "app")]
        Command::Classify(args) => cli::classify::run(args, chosen_device(flag, ThreadUse::Pipeline)?),
        #[cfg(feature = "app")]
        Command::EvalSpotting(args) => cli::analyze::eval_spotting(args, chosen_device(flag, ThreadUse::Pipeline)?),
        #[cfg(feature = "app")]
        Command::App(args) => cli::app::run(args, cli::app::choose_device(flag)),
        // Libtorch serves only the analysis run: the line says its threads.
        #[cfg(feature = "app")]
        Command::Live(args) => cli::live::run_live(args, chosen_device(flag, ThreadUse::Pipeline)?),
        #[cfg(feature = "app")]
        Command::Bench(BenchCommand::Ui { clip, out, weights, classifier, mol_weights }) => {
            let clip = cli::given_or_located(clip, glimpse::resources::Resource::DemoClip)?;
            let models = cli::app::BenchUiModels { weights, classifier, mol_weights };
            cli::app::bench_ui(clip, out, models, cli::app::choose_device(flag))
        }
        #[cfg(feature = "app")]
        Command::Recover { target } => cli::live::run_recover(target.as_deref()),
        #[cfg(feature = "app")]
        Command::Cameras => cli::live::run_cameras(),
        #[cfg(feature = "app")]
        Command::Synth(args) => cli::synth::run(args),
    }
}

/// Selects the device for `--device`, sets libtorch's threads for `usage`
/// and says which it is: the one place the command line chooses it (the
/// window's choice, which reads its settings too, is `cli::app`).
fn chosen_device(flag: Option<DeviceChoice>, usage: ThreadUse) -> Result<tch::Device> {
    let chosen = ChosenDevice::choose(flag.unwrap_or_default(), flag, usage)?;
    eprintln!("device: {}", chosen.line);
    Ok(chosen.device)
}
