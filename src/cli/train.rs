//! `glimpse train`: leave-one-subject-out evaluation, or the shipped model
//! trained on all data with its model card.
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use glimpse::device::{configure_threads, machine_description, ThreadUse};
use glimpse::model::bench::ModelBench;
use glimpse::model::config::ShiftFill;
use glimpse::model::mol::MerInput;
use glimpse::model::ststnet::Architecture;
use glimpse::train::baseline::{check_ststnet_options, ststnet_options};
use glimpse::train::mol_trainer::{check_mol_options, mol_lite_options, MolSample};
use glimpse::train::protocol::scores_table;
use glimpse::train::calibration::reliability_png;
use glimpse::train::mol_ship::{train_and_ship_mol, MolShipInputs};
use glimpse::train::ship::{train_and_ship, CardInputs};
use glimpse::train::fold_store::{FoldStore, Recipe};
use glimpse::train::split::Subjects;
use glimpse::train::trainer::Sampling;
use glimpse::train::{run_loso, Dataset, LosoReport, LosoSettings, TrainOptions};

use super::eval::load_config;
use super::{command_line, read_json, write_json, DEFAULT_DATA};

/// Where `make weights` writes the shipped weights: the source tree's
/// `weights/`, as the working folder is the source tree there (an output,
/// so relative to the working folder like any other output path).
const SOURCE_TREE_WEIGHTS: &str = "weights/epir-megc2019.safetensors";
/// Where `make weights-mol` writes MOL-lite's full-data weights.
const SOURCE_TREE_MOL_WEIGHTS: &str = "weights/mol-lite-megc2019.safetensors";

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    /// Leave one subject out: one fold per subject, pooled MEGC2019 scores.
    Loso,
    /// Train on every sample and write the shipped weights and model card.
    All,
}

/// What MOL-lite's MER head reads (`model::mol::MerInput`).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MerInputArg {
    /// The F5C features of each pair's two frames (the official model).
    Features,
    /// Each pair's F5C feature difference, second frame minus first (one block).
    Differences,
    /// The flow head's predicted flow, pooled to the feature grid.
    Flow,
}

#[derive(clap::Args)]
pub struct TrainArgs {
    #[arg(long, default_value = DEFAULT_DATA)]
    data: PathBuf,
    #[arg(long, value_enum, default_value_t = Protocol::Loso)]
    protocol: Protocol,
    /// Architecture RON (default: the built-in EPIR config).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The network: epir, the STSTNet baseline with its official recipe
    /// (Adam 5e-5, batch 256, 800 epochs), or mol-lite on clips rendered
    /// from the flow and apex crop (AdamW 1e-4, batch 32, 8 epochs); for
    /// the last two --epochs, --batch-size, --lr and --seed still apply and
    /// EPIR's recipe flags are refused.
    #[arg(long, value_enum, default_value_t = Architecture::Epir)]
    model: Architecture,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    batch_size: Option<usize>,
    #[arg(long)]
    lr: Option<f64>,
    #[arg(long)]
    seed: Option<u64>,
    /// Score and keep an exponential moving average of the weights: decay per step, or `off`.
    #[arg(long, default_value = "0.995")]
    ema: String,
    /// Average each prediction with its mirror image's (stored in the config RON).
    #[arg(long)]
    test_time_mirror: bool,
    /// EMA warm-up w: step t averages with decay min(decay, (1+t)/(w+t)). 10 (the
    /// first recipes) never reaches 0.995 within 80 epochs; 1 applies it from the start.
    #[arg(long, default_value_t = 10.0)]
    ema_warmup: f64,
    /// Weight decay only on the linear layers' weight matrices, sparing norms, biases,
    /// embeddings, the class token and the temperatures (default: every parameter).
    #[arg(long)]
    spare_norms: bool,
    /// The side the model works at (the 28x28 flow is resized to it): 32 gives an 8x8
    /// patch grid that merges without padding (stored in the config RON).
    #[arg(long)]
    image_size: Option<i64>,
    /// What DNSPT's shifted copies hold past the image's edge: zero (the first
    /// recipes) or edge (stored in the config RON).
    #[arg(long, value_enum)]
    shift_fill: Option<ShiftFill>,
    /// Drop-path probability of the last transformer block (earlier ones linearly
    /// less), in [0, 1) (stored in the config RON).
    #[arg(long)]
    drop_path: Option<f64>,
    /// A second input stream: each sample's apex crop in grey at the flow's 28 px,
    /// scaled per image, as a fourth plane the patch tokeniser embeds with the
    /// flow (stored in the config RON; reads the crops with OpenCV).
    #[arg(long)]
    apex_stream: bool,
    /// Draw each epoch's samples with every (class, data set) cell equally likely,
    /// instead of each sample once (the loss is then unweighted).
    #[arg(long)]
    balanced_sampling: bool,
    /// Add a supervised contrastive term (SupCon, temperature 0.1) on the
    /// L2-normalised feature the classifier head sees, with this weight
    /// (0: off). With mixup, each mixed sample takes its dominant partner's label.
    #[arg(long, value_name = "WEIGHT")]
    supcon: Option<f64>,
    /// Mixup with Beta(alpha, alpha) blending weights, alpha in (0, 1], or `off`.
    #[arg(long, default_value = "0.4")]
    mixup: String,
    /// mol-lite: weight its MER loss by the training fold's inverse class
    /// frequencies (the official recipe is unweighted). EPIR always weights.
    #[arg(long)]
    class_weighting: bool,
    /// mol-lite: the weight of its MER loss against the flow (10) and
    /// landmark (0.5) losses (the official recipe: 1).
    #[arg(long)]
    mer_weight: Option<f64>,
    /// mol-lite: what its MER head reads (official: features).
    #[arg(long, value_enum)]
    mer_input: Option<MerInputArg>,
    /// mol-lite: the range of the rendered clips' peak displacement, in
    /// pixels at a 128 px side, as LOW,HIGH (default 0.3,3). Training and
    /// held-out clips alike.
    #[arg(long, value_name = "LOW,HIGH")]
    peak_px: Option<String>,
    /// Folds trained in parallel (CPU: one thread each). Default: CPU cores, or 1 on CUDA.
    #[arg(long)]
    jobs: Option<usize>,
    /// LOSO: run only the first N folds (sorted by dataset/subject).
    #[arg(long)]
    folds: Option<usize>,
    /// LOSO: every subject, or the development third alone (every recipe
    /// choice is made there; the other subjects are never used for one).
    #[arg(long, value_enum, default_value_t = Subjects::All)]
    subjects: Subjects,
    /// LOSO: finished folds go here as they finish, in a folder per recipe,
    /// and a rerun of the same recipe trains only the folds not there yet.
    #[arg(long, default_value = "reports/loso-folds")]
    folds_dir: PathBuf,
    /// LOSO: neither read nor write stored folds.
    #[arg(long)]
    no_store: bool,
    /// LOSO report JSON.
    #[arg(long, default_value = "reports/loso-megc2019.json")]
    out: PathBuf,
    /// `--protocol all`: where the weights go (the config RON goes beside them;
    /// default weights/epir-megc2019.safetensors, or weights/mol-lite-megc2019.safetensors
    /// for --model mol-lite).
    #[arg(long)]
    weights_out: Option<PathBuf>,
    /// `--protocol all`: LOSO report whose scores go into the model card.
    #[arg(long)]
    loso_report: Option<PathBuf>,
    /// `--protocol all`: LOSO reports of other recipes tried, listed in the model card.
    #[arg(long, num_args = 1..)]
    also_tried: Vec<PathBuf>,
    /// `--protocol all`: `glimpse bench model` JSON whose latencies go into the model card.
    #[arg(long)]
    bench_report: Option<PathBuf>,
    /// `--protocol all`: the development-split LOSO reports behind the
    /// recipe's choices, tabled in the model card.
    #[arg(long, num_args = 1..)]
    development_reports: Vec<PathBuf>,
    /// MOL-lite on CASME II's own frames instead of --data: the folder
    /// holding `CASME2_RAW_selected/` and the coding sheet as its one CSV.
    #[arg(long)]
    casme2: Option<PathBuf>,
    /// MOL-lite on SAMM's own frames: the folder holding `SAMM/` and the
    /// coding sheet as its one CSV.
    #[arg(long)]
    samm: Option<PathBuf>,
    /// MOL-lite on SMIC-HS's own frames: the folder holding `HS/`
    /// (`HS/s1/micro/negative/s1_ne_01/*.bmp`; classes from the folders).
    #[arg(long)]
    smic: Option<PathBuf>,
}

impl TrainArgs {
    fn licensed(&self) -> bool {
        self.casme2.is_some() || self.samm.is_some() || self.smic.is_some()
    }
}

/// The licensed data sets named on the command line, read and prepared as
/// MOL prepares them (`train::licensed`, `train::licensed_prep`).
#[cfg(feature = "app")]
fn licensed_data(args: &TrainArgs, options: &TrainOptions) -> Result<(Dataset, Vec<MolSample>)> {
    use glimpse::train::licensed::{load, Corpus};
    use glimpse::train::licensed_prep::{prepare_all, FLOW_SIDE};
    let recipe = check_mol_options(options)?;
    let (mut clips, mut parts) = (Vec::new(), Vec::new());
    for (corpus, dir) in [(Corpus::Casme2, &args.casme2), (Corpus::Samm, &args.samm), (Corpus::Smic, &args.smic)] {
        let Some(dir) = dir else { continue };
        let loaded = load(corpus, dir)?;
        let dropped: Vec<String> = loaded.dropped.iter().map(|(emotion, n)| format!("{n} {emotion}")).collect();
        eprintln!(
            "{}: {} clips from {}; dropped (no MEGC class): {}",
            corpus.name(),
            loaded.clips.len(),
            dir.display(),
            if dropped.is_empty() { "none".to_string() } else { dropped.join(", ") }
        );
        parts.push(format!("{}={}", corpus.name(), dir.display()));
        clips.extend(loaded.clips);
    }
    let progress = |done: usize, total: usize| eprintln!("prepared {done}/{total} clips");
    Ok(prepare_all(&clips, recipe.sequences.side, FLOW_SIDE, &parts.join(" "), &progress)?)
}

#[cfg(not(feature = "app"))]
fn licensed_data(_args: &TrainArgs, _options: &TrainOptions) -> Result<(Dataset, Vec<MolSample>)> {
    bail!("--casme2, --samm and --smic read frames with OpenCV and the face models: build with the `app` feature")
}

fn parse_optional_f64(text: &str) -> Result<Option<f64>> {
    match text {
        "off" | "none" => Ok(None),
        number => match number.parse() {
            Ok(value) => Ok(Some(value)),
            Err(_) => bail!("expected a number or `off`, found `{number}`"),
        },
    }
}

/// STSTNet's official recipe with the schedule flags applied; EPIR's own
/// recipe flags are refused rather than silently ignored.
fn ststnet_run_options(args: &TrainArgs, epir: &TrainOptions) -> Result<TrainOptions> {
    let options = own_recipe_with_schedule(args, Some("--model ststnet is a LOSO baseline"), "STSTNet trains with its official recipe", ststnet_options(epir.seed))?;
    check_ststnet_options(&options)?;
    Ok(options)
}

/// What `--protocol all` wrote, for the terminal.
fn say_shipped(shipped: &glimpse::train::ship::Shipped, samples: usize) {
    eprintln!(
        "trained on all {samples} samples in {:.1} s; loss {:.3} -> {:.3}",
        shipped.wall_time_s, shipped.first_loss, shipped.last_loss
    );
    eprintln!("wrote {} and {}", shipped.weights.display(), shipped.config.display());
    eprintln!("wrote {}", shipped.card.display());
}

/// MOL-lite's recipe with the schedule flags, --class-weighting and
/// --mer-weight applied; EPIR's own recipe flags are refused. Unlike
/// STSTNet it also trains on all data (the shipped MOL-lite weights).
fn mol_run_options(args: &TrainArgs, epir: &TrainOptions) -> Result<TrainOptions> {
    let mut options =
        own_recipe_with_schedule(args, None, "MOL-lite trains with its own recipe", mol_lite_options(epir.seed))?;
    options.class_weighting = args.class_weighting;
    if let (Some(weight), Some(recipe)) = (args.mer_weight, options.mol.as_mut()) {
        recipe.mer_weight = weight;
    }
    if let (Some(range), Some(recipe)) = (&args.peak_px, options.mol.as_mut()) {
        recipe.sequences = recipe.sequences.with_peak_px_at_128(parse_peak_range(range).context("--peak-px")?)?;
    }
    if let (Some(input), Some(recipe)) = (args.mer_input, options.mol.as_mut()) {
        recipe.config.mer_input = match input {
            MerInputArg::Features => MerInput::Features,
            MerInputArg::Differences => MerInput::Differences,
            MerInputArg::Flow => MerInput::Flow,
        };
    }
    check_mol_options(&options)?;
    Ok(options)
}

/// `LOW,HIGH` -> [low, high] (checked by `SequenceSettings::with_peak_px_at_128`).
fn parse_peak_range(text: &str) -> Result<[f32; 2]> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [low, high] = parts.as_slice() else { bail!("expected LOW,HIGH, found {text:?}") };
    Ok([low.parse().context("LOW")?, high.parse().context("HIGH")?])
}

/// A network with a recipe of its own: the schedule flags (epochs, batch
/// size, a constant learning rate) applied to `recipe`; `loso_only` says
/// why `--protocol all` is refused, where it is.
fn own_recipe_with_schedule(
    args: &TrainArgs,
    loso_only: Option<&str>,
    own_recipe: &str,
    recipe: TrainOptions,
) -> Result<TrainOptions> {
    if let (Some(why), Protocol::All) = (loso_only, args.protocol) {
        bail!("{why}: use --protocol loso");
    }
    refuse_epir_flags(args, own_recipe)?;
    Ok(TrainOptions {
        epochs: args.epochs.unwrap_or(recipe.epochs),
        batch_size: args.batch_size.unwrap_or(recipe.batch_size),
        learning_rate: args.lr.unwrap_or(recipe.learning_rate),
        min_learning_rate: args.lr.unwrap_or(recipe.learning_rate),
        ..recipe
    })
}

/// Every sample's MOL input: its decoded flow and its apex face (read and
/// meshed once here, shared by all folds).
#[cfg(feature = "app")]
fn mol_samples(dataset: &Dataset, options: &TrainOptions) -> Result<Vec<MolSample>> {
    use glimpse::train::mol_inputs::{apex_faces, load_mesh};
    use glimpse::train::mol_sequences::unit_flow;
    let recipe = check_mol_options(options)?;
    let mesh = load_mesh(tch::Device::Cpu)?;
    let side = recipe.sequences.side;
    let faces = apex_faces(dataset, side, &mesh, &|done, total| eprintln!("apex faces: {done}/{total}"))?;
    dataset
        .samples
        .iter()
        .zip(faces)
        .map(|(sample, apex)| {
            let unit_flow = unit_flow(&sample.flow).with_context(|| format!("the flow of sample {}", sample.sample))?;
            Ok(MolSample::rendered(sample.label, unit_flow, apex))
        })
        .collect()
}

#[cfg(not(feature = "app"))]
fn mol_samples(_dataset: &Dataset, _options: &TrainOptions) -> Result<Vec<MolSample>> {
    bail!("--model mol-lite reads the apex crops with OpenCV and the face mesh: build with the `app` feature")
}

fn refuse_epir_flags(args: &TrainArgs, why: &str) -> Result<()> {
    let epir_only = args.config.is_some()
        || args.test_time_mirror
        || args.image_size.is_some()
        || args.shift_fill.is_some()
        || args.spare_norms
        || args.ema != "0.995"
        || args.mixup != "0.4"
        || args.ema_warmup != 10.0
        || args.drop_path.is_some()
        || args.balanced_sampling
        || args.supcon.is_some()
        || args.apex_stream;
    if epir_only {
        bail!("--config, --test-time-mirror, --image-size, --shift-fill, --spare-norms, --ema, --mixup, --ema-warmup, --drop-path, --balanced-sampling, --supcon and --apex-stream are EPIR's; {why}");
    }
    Ok(())
}

/// EPIR's apex stream: every sample's grey apex crop as a fourth plane.
#[cfg(feature = "app")]
pub(super) fn add_apex_stream(dataset: &mut Dataset) -> Result<()> {
    glimpse::train::mol_inputs::add_apex_stream(dataset).context("the apex stream")
}

#[cfg(not(feature = "app"))]
pub(super) fn add_apex_stream(_dataset: &mut Dataset) -> Result<()> {
    bail!("the apex stream reads the apex crops with OpenCV: build with the `app` feature")
}

pub fn run(args: TrainArgs, device: tch::Device) -> Result<()> {
    let mut config = load_config(args.config.as_deref())?;
    config.test_time_mirror |= args.test_time_mirror;
    if let Some(side) = args.image_size {
        config.image_size = side;
    }
    if let Some(fill) = args.shift_fill {
        config.shift_fill = fill;
    }
    if let Some(rate) = args.drop_path {
        config.drop_path = rate;
    }
    config.apex_stream |= args.apex_stream;
    config.validate()?;
    let defaults = TrainOptions::default();
    let options = TrainOptions {
        epochs: args.epochs.unwrap_or(defaults.epochs),
        batch_size: args.batch_size.unwrap_or(defaults.batch_size),
        learning_rate: args.lr.unwrap_or(defaults.learning_rate),
        seed: args.seed.unwrap_or(defaults.seed),
        ema_decay: parse_optional_f64(&args.ema).context("--ema")?,
        mixup_alpha: parse_optional_f64(&args.mixup).context("--mixup")?,
        ema_warmup_steps: args.ema_warmup,
        decay_every_parameter: !args.spare_norms,
        sampling: if args.balanced_sampling { Sampling::ClassByDataset } else { Sampling::Shuffle },
        supcon_weight: args.supcon.unwrap_or(defaults.supcon_weight),
        ..defaults
    };
    options.validate()?;
    if args.model != Architecture::MolLite
        && (args.class_weighting || args.mer_weight.is_some() || args.mer_input.is_some() || args.peak_px.is_some())
    {
        bail!("--class-weighting, --mer-weight, --mer-input and --peak-px are MOL-lite's: use --model mol-lite");
    }
    let options = match args.model {
        Architecture::Epir => options,
        Architecture::Ststnet => ststnet_run_options(&args, &options)?,
        Architecture::MolLite => mol_run_options(&args, &options)?,
    };
    if args.jobs == Some(0) {
        bail!("--jobs must be at least 1");
    }
    if args.folds == Some(0) {
        bail!("--folds must be at least 1 (leave it out for every fold)");
    }
    let (dataset, mut prepared) = if args.licensed() {
        if options.architecture != Architecture::MolLite {
            bail!("--casme2, --samm and --smic feed MOL-lite's own preparation: use --model mol-lite --protocol loso");
        }
        let (dataset, inputs) = licensed_data(&args, &options)?;
        (dataset, Some(inputs))
    } else {
        let mut dataset = Dataset::load(&args.data, &config.class_names)?;
        if config.apex_stream && options.architecture == Architecture::Epir {
            add_apex_stream(&mut dataset)?;
        }
        (dataset, None)
    };
    eprintln!(
        "data: {} samples, {} subjects, class counts {:?} from {}",
        dataset.samples.len(),
        dataset.folds().len(),
        dataset.class_counts(),
        dataset.root.display()
    );
    match args.protocol {
        Protocol::Loso => {
            let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            let jobs = args.jobs.unwrap_or(if device.is_cuda() { 1 } else { cores });
            configure_threads(device, ThreadUse::Training { parallel_jobs: jobs });
            let store = if args.no_store {
                None
            } else {
                let recipe = Recipe::new(&config, &options, args.subjects, &dataset);
                let store = FoldStore::open(&args.folds_dir, &recipe)
                    .with_context(|| format!("the fold store in {}", args.folds_dir.display()))?;
                eprintln!("folds stored in {} (a rerun skips the finished ones)", store.dir.display());
                Some(store)
            };
            let mol_inputs = match options.architecture {
                Architecture::MolLite => {
                    if let Some(recipe) = &options.mol {
                        if recipe.config.class_names != dataset.class_names {
                            bail!(
                                "MOL-lite's classes {:?} differ from the data's {:?}",
                                recipe.config.class_names,
                                dataset.class_names
                            );
                        }
                    }
                    match prepared.take() {
                        Some(inputs) => Some(inputs),
                        None => Some(mol_samples(&dataset, &options)?),
                    }
                }
                _ => None,
            };
            let settings = LosoSettings {
                config: &config,
                subjects: args.subjects,
                store: store.as_ref(),
                options: &options,
                device,
                jobs,
                max_folds: args.folds,
                command: command_line(),
                mol_samples: mol_inputs.as_deref(),
            };
            eprintln!(
                "loso: {:?}, {} epochs, seed {}, {jobs} fold(s) at a time",
                options.architecture, options.epochs, options.seed
            );
            let report = run_loso(&dataset, &settings, &|line| eprintln!("{line}"))?;
            say!("{}", scores_table(&report));
            say!("wall time {:.1} s", report.wall_time_s);
            write_json(&args.out, &report)?;
            if let Some(calibration) = &report.calibration {
                let png = args.out.with_extension("reliability.png");
                let bytes = reliability_png(calibration).context("encoding the reliability diagram")?;
                glimpse::files::write_atomic(&png, &bytes).with_context(|| format!("writing {}", png.display()))?;
                say!("wrote {} (grey: uncalibrated, blue: calibrated; red: perfect)", png.display());
            }
            Ok(())
        }
        Protocol::All if options.architecture == Architecture::MolLite => {
            configure_threads(device, ThreadUse::Training { parallel_jobs: 1 });
            if prepared.is_some() {
                bail!("--protocol all trains the shipped MOL-lite on --data (the composite set), not on --casme2/--samm/--smic");
            }
            if args.also_tried.len() + args.development_reports.len() + usize::from(args.bench_report.is_some()) > 0 {
                bail!(
                    "--also-tried, --development-reports and --bench-report are EPIR's card inputs; MOL-lite's card \
                     takes --loso-report"
                );
            }
            let loso: Option<LosoReport> =
                args.loso_report.as_deref().map(|p| read_json(p, "a LOSO report")).transpose()?;
            if let Some(report) = &loso {
                if report.architecture != Architecture::MolLite {
                    bail!("--loso-report is a {:?} report, not MOL-lite's", report.architecture);
                }
            }
            let samples = mol_samples(&dataset, &options)?;
            let weights_out = args.weights_out.clone().unwrap_or_else(|| SOURCE_TREE_MOL_WEIGHTS.into());
            let command = command_line();
            let inputs = MolShipInputs { data: &args.data, loso: loso.as_ref(), command: &command };
            eprintln!("mol-lite: {} epochs, lr {}, seed {} on all {} samples", options.epochs, options.learning_rate, options.seed, samples.len());
            let shipped = train_and_ship_mol(&dataset, &samples, &options, device, &weights_out, &inputs)?;
            say_shipped(&shipped, dataset.samples.len());
            Ok(())
        }
        Protocol::All => {
            configure_threads(device, ThreadUse::Training { parallel_jobs: 1 });
            let loso: Option<LosoReport> =
                args.loso_report.as_deref().map(|p| read_json(p, "a LOSO report")).transpose()?;
            // The shipped probabilities are calibrated by the recipe's LOSO temperature.
            if let Some(calibration) = loso.as_ref().and_then(|l| l.calibration.as_ref()) {
                config.temperature = calibration.temperature;
                eprintln!("calibration: temperature {:.3} from the LOSO report", calibration.temperature);
            }
            let bench: Option<ModelBench> =
                args.bench_report.as_deref().map(|p| read_json(p, "a `glimpse bench model` report")).transpose()?;
            let also_tried: Vec<LosoReport> =
                args.also_tried.iter().map(|p| read_json(p, "a LOSO report")).collect::<Result<_>>()?;
            let development: Vec<(String, LosoReport)> = args
                .development_reports
                .iter()
                .map(|p| Ok((p.display().to_string(), read_json(p, "a LOSO report")?)))
                .collect::<Result<_>>()?;
            let machine = machine_description();
            let command = command_line();
            let inputs = CardInputs {
                data: &args.data,
                loso: loso.as_ref(),
                also_tried: &also_tried,
                bench: bench.as_ref().map(|b| (b, machine.as_str())),
                command: &command,
                loso_path: args.loso_report.as_deref(),
                development: &development,
            };
            let weights_out = args.weights_out.clone().unwrap_or_else(|| SOURCE_TREE_WEIGHTS.into());
            let shipped = train_and_ship(&dataset, &config, &options, device, &weights_out, &inputs)?;
            say_shipped(&shipped, dataset.samples.len());
            Ok(())
        }
    }
}
