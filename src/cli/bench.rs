//! `glimpse bench model` (parameters, per-layer FLOPs and forward latency)
//! and `glimpse bench pipeline` (per-stage time of the analysis on a video);
//! the window's benchmark, `bench ui`, is in `cli::app`.
use std::path::PathBuf;

use anyhow::Result;
use glimpse::model::bench::{bench_model, table};
use glimpse::model::EpirModel;

use super::eval::load_config;
use super::write_json;

#[derive(clap::Args)]
pub struct ModelBenchArgs {
    /// Weights to time (default: a fresh model of --config or the built-in config).
    #[arg(long)]
    weights: Option<PathBuf>,
    #[arg(long)]
    config: Option<PathBuf>,
    /// Time the test-time mirror path (two forward passes per input).
    #[arg(long)]
    test_time_mirror: bool,
    /// Timed runs at batch 1 (fewer at batch 32).
    #[arg(long, default_value_t = 300)]
    runs: usize,
    #[arg(long, default_value = "target/bench/model.json")]
    out: PathBuf,
}

pub fn run(args: ModelBenchArgs, device: tch::Device) -> Result<()> {
    let make = |device| -> Result<EpirModel> {
        let mut model = match args.weights.as_deref() {
            Some(path) => EpirModel::load(path, device)?,
            None => EpirModel::new(load_config(args.config.as_deref())?, device)?,
        };
        model.config.test_time_mirror |= args.test_time_mirror;
        Ok(model)
    };
    let cpu = make(tch::Device::Cpu)?;
    let gpu = if device.is_cuda() { Some(make(device)?) } else { None };
    let result = bench_model(&cpu, gpu.as_ref(), &[1, 32], args.runs.max(10));
    say!("{}", table(&result));
    write_json(&args.out, &result)
}

#[derive(clap::Args)]
pub struct MolBenchArgs {
    /// Which configs: lite, official, or both.
    #[arg(long, value_enum, default_value_t = MolConfigs::Both)]
    configs: MolConfigs,
    /// Timed events per config and device (the official model takes
    /// seconds per event on a CPU).
    #[arg(long, default_value_t = 10)]
    runs: usize,
    #[arg(long, default_value = "target/bench/mol.json")]
    out: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MolConfigs {
    Lite,
    Official,
    Both,
}

/// `glimpse bench mol`.
pub fn mol(args: MolBenchArgs, device: tch::Device) -> Result<()> {
    use glimpse::model::mol::bench::{bench_mol, table};
    use glimpse::model::mol::MolConfig;
    let gpu = device.is_cuda().then_some(device);
    let mut benches = Vec::new();
    if args.configs != MolConfigs::Official {
        benches.push(bench_mol("lite", MolConfig::lite(), gpu, args.runs)?);
    }
    if args.configs != MolConfigs::Lite {
        benches.push(bench_mol("official", MolConfig::official(3)?, gpu, args.runs)?);
    }
    say!("{}", table(&benches));
    write_json(&args.out, &benches)
}

/// `glimpse bench pipeline`: per-stage time, end-to-end fps against decoding
/// alone, and peak memory.
#[cfg(feature = "app")]
pub fn pipeline(
    video: &std::path::Path,
    out: &std::path::Path,
    options: &glimpse::pipeline::AnalysisOptions,
    device: tch::Device,
) -> Result<()> {
    use anyhow::Context;
    let result = glimpse::bench::pipeline::bench_pipeline(video, options, device)
        .with_context(|| format!("benchmarking the pipeline on {}", video.display()))?;
    say!("{}", glimpse::bench::pipeline::table(&result));
    write_json(out, &result)
}
