//! Trains one MOL on rendered clips (`mol_sequences`) with the three
//! losses of the official `train.py` (CYF-cuber/MOL):
//!
//! - MER: negative log-likelihood of the log-softmax of the logits,
//!   weighted by `mer_weight` (1); with `class_weighting` (not the
//!   official recipe) each clip's term is weighted by its class's inverse
//!   frequency in the training fold (`trainer::class_weights`) and the mean
//!   is over those weights;
//! - flow: the MSE of each pair's flow against its target, summed over
//!   the pairs and divided by their number (7), weighted by
//!   `flow_weight` (10);
//! - landmarks: for each clip and pair, the L1 error of the second frame's
//!   points (mean over the 136 coordinates) divided by that frame's
//!   inter-ocular distance (the official `get_pupil_distance`), weighted by
//!   `landmark_weight` (0.5). Here the mean over clips and pairs is taken;
//!   the official code sums over the batch and divides by 68 x pairs,
//!   which only rescales the weight by batch / 68.
//!
//! AdamW (learning rate 1e-4, weight decay 1e-3), batches of 32, a fixed
//! number of epochs; each epoch renders every training clip afresh (a new
//! peak and new noise from the seeded generator). The held-out clips are
//! rendered once, from their own seed, and scored after every epoch (for
//! reporting only: nothing reads the scores back). Inputs are the grey
//! frames mapped from 0..1 to -1..1 (the official code centres the clips
//! on their mean and divides by their maximum).
//!
//! Reproducibility: initialisation is seeded under `INIT_LOCK` and the
//! clips come from our own generator, but the MER head's dropout draws from
//! libtorch's one global generator, so folds trained in parallel (more
//! than one `--jobs`) are not bit-for-bit repeatable; one at a time they
//! are (STSTNet's trainer draws its masks itself for this reason; MOL's
//! head does not yet).
use serde::{Deserialize, Serialize};
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

use super::augment::Rng;
use super::metrics::{Confusion, Scores};
use super::mol_sequences::{inter_ocular, render, ApexFace, Sequence, SequenceSettings, FRAMES, LANDMARKS};
use super::trainer::{class_weights_of_counts, smoothed_weighted_cross_entropy, TrainError, TrainOptions, INIT_LOCK};
use crate::model::mol::{MolConfig, MolModel};
use crate::model::ststnet::Architecture;

/// What MOL-lite trains besides the schedule in `TrainOptions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MolRecipe {
    pub config: MolConfig,
    pub sequences: SequenceSettings,
    pub mer_weight: f64,
    pub flow_weight: f64,
    pub landmark_weight: f64,
}

impl MolRecipe {
    pub fn lite() -> Self {
        let config = MolConfig::lite();
        let sequences = SequenceSettings::new(config.image_size as usize);
        Self { config, sequences, mer_weight: 1.0, flow_weight: 10.0, landmark_weight: 0.5 }
    }
}

/// Epochs of MOL-lite's fixed schedule, chosen for about 100 s a fold on
/// one CPU thread (14 steps of 32 clips an epoch; 8 epochs took 79 s on a
/// shared two-core machine).
pub const MOL_LITE_EPOCHS: usize = 10;

/// MOL-lite's options: AdamW at a constant 1e-4, weight decay 1e-3,
/// batches of 32, [`MOL_LITE_EPOCHS`] epochs; EPIR's recipe fields are off.
pub fn mol_lite_options(seed: u64) -> TrainOptions {
    TrainOptions {
        architecture: Architecture::MolLite,
        epochs: MOL_LITE_EPOCHS,
        batch_size: 32,
        learning_rate: 1e-4,
        min_learning_rate: 1e-4,
        warmup_epochs: 0,
        weight_decay: 1e-3,
        label_smoothing: 0.0,
        class_weighting: false,
        augmentation: super::augment::Augmentation { flip: 0.0, max_shift: 0 },
        ema_decay: None,
        mixup_alpha: None,
        seed,
        mol: Some(MolRecipe::lite()),
        ..TrainOptions::default()
    }
}

/// Refuses options the MOL trainer would ignore: only the epochs, batch
/// size, learning rate, weight decay, seed, class weighting of the MER loss
/// and the MOL recipe (its loss weights among it) may change.
pub fn check_mol_options(options: &TrainOptions) -> Result<&MolRecipe, TrainError> {
    options.validate()?;
    let recipe = options
        .mol
        .as_ref()
        .ok_or_else(|| TrainError::InvalidOptions("MOL-lite needs its recipe (`mol`) in the options".into()))?;
    // Before the comparison below, which a NaN weight would fail.
    let weights = [recipe.mer_weight, recipe.flow_weight, recipe.landmark_weight];
    if weights.iter().any(|w| !(*w >= 0.0 && w.is_finite())) || recipe.mer_weight == 0.0 {
        return Err(TrainError::InvalidOptions(format!(
            "the MER loss weight must be positive and the flow and landmark weights 0 or positive, found {}, {} and {}",
            recipe.mer_weight, recipe.flow_weight, recipe.landmark_weight
        )));
    }
    let expected = TrainOptions {
        epochs: options.epochs,
        batch_size: options.batch_size,
        learning_rate: options.learning_rate,
        min_learning_rate: options.learning_rate,
        weight_decay: options.weight_decay,
        class_weighting: options.class_weighting,
        mol: options.mol.clone(),
        ..mol_lite_options(options.seed)
    };
    if *options != expected {
        return Err(TrainError::InvalidOptions(
            "MOL-lite trains with AdamW at a constant rate and its own losses and clips: only the epochs, batch \
             size, learning rate, weight decay, class weighting, loss weights and seed can change"
                .into(),
        ));
    }
    recipe.config.validate().map_err(crate::model::mol::MolError::from)?;
    if recipe.sequences.side as i64 != recipe.config.image_size {
        return Err(TrainError::InvalidOptions(format!(
            "clips are rendered at {} px but the model takes {} px",
            recipe.sequences.side, recipe.config.image_size
        )));
    }
    Ok(recipe)
}

/// One sample as MOL sees it.
#[derive(Clone, Debug)]
pub struct MolSample {
    pub label: usize,
    pub input: MolInput,
}

/// Where a sample's clip comes from.
#[derive(Clone, Debug)]
pub enum MolInput {
    /// Rendered afresh every epoch from the composite data's flow image and
    /// apex crop (`mol_sequences::render`).
    Rendered {
        /// `mol_sequences::unit_flow` of the sample's flow image.
        unit_flow: [Vec<f32>; 2],
        apex: Box<ApexFace>,
    },
    /// A clip prepared once from a data set's own frames, with measured
    /// flow and landmark targets (`train::licensed_prep`): the same every epoch.
    Recorded(Sequence),
}

impl MolSample {
    pub fn rendered(label: usize, unit_flow: [Vec<f32>; 2], apex: ApexFace) -> Self {
        Self { label, input: MolInput::Rendered { unit_flow, apex: Box::new(apex) } }
    }
}

/// The three losses of one batch or epoch, unweighted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MolLosses {
    pub mer: f64,
    pub flow: f64,
    pub landmarks: f64,
}

pub struct MolRun {
    pub model: MolModel,
    /// Weighted total training loss of each epoch (mean over its batches).
    pub losses: Vec<f64>,
    /// Each epoch's three losses, unweighted.
    pub loss_parts: Vec<MolLosses>,
    /// Held-out predicted classes after each epoch.
    pub held_out_predictions: Vec<Vec<usize>>,
    /// Last-epoch held-out class probabilities.
    pub held_out_probabilities: Vec<Vec<f32>>,
    /// Last-epoch mean flow end-point error on the held-out clips, in
    /// pixels of the frame side.
    pub held_out_flow_epe: Option<f64>,
    /// Last-epoch landmark NME on the held-out clips: mean point distance
    /// over the inter-ocular distance.
    pub held_out_landmark_nme: Option<f64>,
    /// The end-point error a flow of zero everywhere would have there (the
    /// mean target magnitude): the flow head's EPE is worth reading beside it.
    pub held_out_zero_flow_epe: Option<f64>,
    /// How well the trained model fits its own training samples: scored in
    /// evaluation mode on one rendering of them (a generator of its own,
    /// so training is unchanged).
    pub training_fit: Option<Scores>,
}

/// A batch of clips as tensors on `device`.
struct Batch {
    /// `[B, T, 1, S, S]` in -1..1.
    frames: Tensor,
    /// `[B, T-1, 2, S, S]`.
    flows: Tensor,
    /// `[B, T-1, 136]`: frames 1..T's points, x0, y0, x1, ...
    landmarks: Tensor,
    /// `[B, T-1]`: those frames' inter-ocular distances.
    inter_ocular: Tensor,
}

fn batch_of(clips: &[Sequence], device: Device) -> Batch {
    let (count, side) = (clips.len() as i64, clips[0].side as i64);
    let pairs = (FRAMES - 1) as i64;
    let frames: Vec<f32> = clips.iter().flat_map(|c| c.frames.iter().map(|&g| crate::model::mol::input_level(g))).collect();
    let flows: Vec<f32> = clips.iter().flat_map(|c| c.flows.iter().copied()).collect();
    let points: Vec<f32> = clips.iter().flat_map(|c| c.landmarks[1..].iter().flatten().flatten().copied()).collect();
    let distances: Vec<f32> = clips.iter().flat_map(|c| c.landmarks[1..].iter().map(|p| inter_ocular(p))).collect();
    Batch {
        frames: Tensor::from_slice(&frames).reshape([count, FRAMES as i64, 1, side, side]).to_device(device),
        flows: Tensor::from_slice(&flows).reshape([count, pairs, 2, side, side]).to_device(device),
        landmarks: Tensor::from_slice(&points).reshape([count, pairs, 2 * LANDMARKS as i64]).to_device(device),
        inter_ocular: Tensor::from_slice(&distances).reshape([count, pairs]).to_device(device),
    }
}

/// The three losses of a forward pass, before the recipe's loss weights
/// (see the module doc); MER's is class-weighted when `class_weights` is given.
fn losses(
    model: &MolModel,
    batch: &Batch,
    labels: &Tensor,
    class_weights: Option<&Tensor>,
    train: bool,
) -> Result<[Tensor; 3], TrainError> {
    let out = model.forward(&batch.frames, train)?;
    let mer = match class_weights {
        None => out.class_logits.log_softmax(-1, Kind::Float).nll_loss(labels),
        Some(weights) => smoothed_weighted_cross_entropy(&out.class_logits, labels, weights, 0.0),
    };
    let flow = (&out.flows - &batch.flows).square().mean(Kind::Float);
    let landmarks = ((&out.landmarks - &batch.landmarks).abs().mean_dim([2i64].as_slice(), false, Kind::Float)
        / &batch.inter_ocular)
        .mean(Kind::Float);
    Ok([mer, flow, landmarks])
}

fn render_all(samples: &[&MolSample], settings: &SequenceSettings, rng: &mut Rng) -> Result<Vec<Sequence>, TrainError> {
    samples
        .iter()
        .map(|s| match &s.input {
            MolInput::Rendered { unit_flow, apex } => Ok(render(apex, unit_flow, settings, rng)?),
            MolInput::Recorded(clip) if clip.side == settings.side => Ok(clip.clone()),
            MolInput::Recorded(clip) => Err(TrainError::InvalidOptions(format!(
                "a prepared clip is {} px but the model takes {} px",
                clip.side, settings.side
            ))),
        })
        .collect()
}

/// The training fold's inverse-frequency class weights
/// (`trainer::class_weights`, from the MOL samples' labels).
pub fn mol_class_weights(train_set: &[&MolSample], classes: usize) -> Result<Vec<f32>, TrainError> {
    let mut counts = vec![0usize; classes];
    for sample in train_set {
        *counts.get_mut(sample.label).ok_or_else(|| {
            TrainError::InvalidOptions(format!("a sample's class {} is past the model's {classes}", sample.label))
        })? += 1;
    }
    Ok(class_weights_of_counts(&counts))
}

/// Trains one MOL on `train_set`, scoring `held_out` after every epoch.
pub fn train_mol(
    train_set: &[&MolSample],
    held_out: &[&MolSample],
    options: &TrainOptions,
    seed: u64,
    device: Device,
) -> Result<MolRun, TrainError> {
    let recipe = check_mol_options(options)?;
    if train_set.is_empty() {
        return Err(TrainError::NoTrainingSamples);
    }
    let model = {
        let _guard = INIT_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tch::manual_seed(seed as i64);
        MolModel::new(recipe.config.clone(), device)?
    };
    let adamw = nn::AdamW { beta1: 0.9, beta2: 0.999, wd: options.weight_decay, eps: 1e-8, amsgrad: false };
    let mut optimizer = adamw.build(&model.vars, options.learning_rate)?;
    let mut rng = Rng::new(seed);
    // The held-out clips come from a generator of their own, so they are
    // the same whatever the schedule.
    let held_out_clips = render_all(held_out, &recipe.sequences, &mut Rng::new(seed ^ 0x5EED_5EED))?;
    let weights = [recipe.mer_weight, recipe.flow_weight, recipe.landmark_weight];
    let class_weights = options
        .class_weighting
        .then(|| mol_class_weights(train_set, recipe.config.num_classes() as usize))
        .transpose()?
        .map(|w| Tensor::from_slice(&w).to_device(device));

    let mut order: Vec<usize> = (0..train_set.len()).collect();
    let batch_size = options.batch_size.max(1);
    let mut run_losses = Vec::with_capacity(options.epochs);
    let mut loss_parts = Vec::with_capacity(options.epochs);
    let mut held_out_predictions = Vec::with_capacity(options.epochs);
    let mut held_out_probabilities = Vec::new();
    let (mut held_out_flow_epe, mut held_out_landmark_nme, mut held_out_zero_flow_epe) = (None, None, None);
    for epoch in 0..options.epochs {
        rng.shuffle(&mut order);
        let (mut total, mut parts, mut seen) = (0.0, [0.0f64; 3], 0usize);
        for chunk in order.chunks(batch_size) {
            let samples: Vec<&MolSample> = chunk.iter().map(|&i| train_set[i]).collect();
            let clips = render_all(&samples, &recipe.sequences, &mut rng)?;
            let batch = batch_of(&clips, device);
            let labels: Vec<i64> = samples.iter().map(|s| s.label as i64).collect();
            let labels = Tensor::from_slice(&labels).to_device(device);
            let three = losses(&model, &batch, &labels, class_weights.as_ref(), true)?;
            let loss = three
                .iter()
                .zip(weights)
                .map(|(l, w)| l * w)
                .fold(Tensor::zeros([], (Kind::Float, device)), |a, b| a + b);
            optimizer.backward_step(&loss);
            let n = chunk.len() as f64;
            total += f64::try_from(&loss)? * n;
            for (sum, part) in parts.iter_mut().zip(&three) {
                *sum += f64::try_from(part)? * n;
            }
            seen += chunk.len();
        }
        let mean = total / seen as f64;
        if !mean.is_finite() {
            return Err(TrainError::Diverged { epoch, loss: mean });
        }
        run_losses.push(mean);
        loss_parts.push(MolLosses {
            mer: parts[0] / seen as f64,
            flow: parts[1] / seen as f64,
            landmarks: parts[2] / seen as f64,
        });
        if !held_out_clips.is_empty() {
            let scored = score(&model, &held_out_clips, device)?;
            held_out_predictions.push(scored.predicted);
            if epoch + 1 == options.epochs {
                held_out_probabilities = scored.probabilities;
                held_out_flow_epe = Some(scored.flow_epe);
                held_out_landmark_nme = Some(scored.landmark_nme);
                held_out_zero_flow_epe = Some(scored.zero_flow_epe);
            }
        }
    }
    let training_fit = if options.epochs > 0 {
        let classes = recipe.config.num_classes() as usize;
        Some(training_fit(&model, train_set, &recipe.sequences, classes, seed, batch_size, device)?)
    } else {
        None
    };
    Ok(MolRun {
        model,
        losses: run_losses,
        loss_parts,
        held_out_predictions,
        held_out_probabilities,
        held_out_flow_epe,
        held_out_landmark_nme,
        held_out_zero_flow_epe,
        training_fit,
    })
}

/// Scores of `model` (evaluation mode) on one rendering of its training
/// samples, from a generator of its own seeded by `seed`.
fn training_fit(
    model: &MolModel,
    train_set: &[&MolSample],
    settings: &SequenceSettings,
    classes: usize,
    seed: u64,
    batch_size: usize,
    device: Device,
) -> Result<Scores, TrainError> {
    let mut rng = Rng::new(seed ^ 0x7EA1_7EA1);
    let mut confusion = Confusion::new(classes);
    for chunk in train_set.chunks(batch_size.max(1)) {
        let clips = render_all(chunk, settings, &mut rng)?;
        let scored = score(model, &clips, device)?;
        for (sample, predicted) in chunk.iter().zip(scored.predicted) {
            confusion.add(sample.label, predicted);
        }
    }
    Ok(confusion.scores())
}

/// The three unweighted losses of `model` on `clips` in evaluation mode
/// (no dropout, BatchNorm running statistics).
pub fn evaluation_losses(
    model: &MolModel,
    clips: &[Sequence],
    labels: &[usize],
    device: Device,
) -> Result<MolLosses, TrainError> {
    let batch = batch_of(clips, device);
    let labels: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    let labels = Tensor::from_slice(&labels).to_device(device);
    let [mer, flow, landmarks] = tch::no_grad(|| losses(model, &batch, &labels, None, false))?;
    Ok(MolLosses { mer: f64::try_from(mer)?, flow: f64::try_from(flow)?, landmarks: f64::try_from(landmarks)? })
}

/// Held-out scores in evaluation mode.
pub struct MolScores {
    pub predicted: Vec<usize>,
    pub probabilities: Vec<Vec<f32>>,
    pub flow_epe: f64,
    pub landmark_nme: f64,
    /// The EPE of predicting no motion: the mean target magnitude.
    pub zero_flow_epe: f64,
}

pub fn score(model: &MolModel, clips: &[Sequence], device: Device) -> Result<MolScores, TrainError> {
    let batch = batch_of(clips, device);
    let out = tch::no_grad(|| model.forward(&batch.frames, false))?;
    let probabilities = out.class_logits.softmax(-1, Kind::Float).to_device(Device::Cpu);
    let classes = probabilities.size()[1];
    let flat = Vec::<f32>::try_from(probabilities.flatten(0, -1))?;
    let probabilities: Vec<Vec<f32>> = flat.chunks(classes as usize).map(<[f32]>::to_vec).collect();
    let predicted = probabilities
        .iter()
        .map(|p| p.iter().enumerate().fold(0, |best, (i, v)| if *v > p[best] { i } else { best }))
        .collect();
    let epe = (&out.flows - &batch.flows).square().sum_dim_intlist([2i64].as_slice(), false, Kind::Float).sqrt();
    let zero = batch.flows.square().sum_dim_intlist([2i64].as_slice(), false, Kind::Float).sqrt();
    let size = out.landmarks.size();
    let pairs_points = [size[0], size[1], LANDMARKS as i64, 2];
    let distance = (out.landmarks.reshape(pairs_points) - batch.landmarks.reshape(pairs_points))
        .square()
        .sum_dim_intlist([3i64].as_slice(), false, Kind::Float)
        .sqrt();
    let nme = distance.mean_dim([2i64].as_slice(), false, Kind::Float) / &batch.inter_ocular;
    Ok(MolScores {
        predicted,
        probabilities,
        flow_epe: f64::try_from(epe.mean(Kind::Float))?,
        landmark_nme: f64::try_from(nme.mean(Kind::Float))?,
        zero_flow_epe: f64::try_from(zero.mean(Kind::Float))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_schedule_and_seed_of_the_mol_recipe_can_change() {
        let options = mol_lite_options(3);
        check_mol_options(&options).expect("the recipe itself");
        assert_eq!((options.batch_size, options.learning_rate, options.weight_decay), (32, 1e-4, 1e-3));
        let short = TrainOptions { epochs: 2, batch_size: 4, ..options.clone() };
        check_mol_options(&short).expect("a shorter schedule");
        let mixup = TrainOptions { mixup_alpha: Some(0.4), ..options.clone() };
        let message = check_mol_options(&mixup).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("only the epochs"), "{message}");
        let mut wrong_side = options.clone();
        if let Some(recipe) = wrong_side.mol.as_mut() {
            recipe.sequences.side = 128;
        }
        let message = check_mol_options(&wrong_side).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("128 px") && message.contains("64 px"), "{message}");
    }

    #[test]
    fn class_weighting_and_the_loss_weights_can_change_but_not_to_nonsense() {
        let options = mol_lite_options(3);
        let weighted = TrainOptions { class_weighting: true, ..options.clone() };
        check_mol_options(&weighted).expect("class-weighted MER");
        let mut heavier = options.clone();
        heavier.mol.as_mut().expect("recipe").mer_weight = 10.0;
        assert_eq!(check_mol_options(&heavier).expect("MER weight 10").mer_weight, 10.0);
        for bad in [0.0, -1.0, f64::NAN] {
            let mut wrong = options.clone();
            wrong.mol.as_mut().expect("recipe").mer_weight = bad;
            let message = check_mol_options(&wrong).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains("MER loss weight"), "{bad}: {message}");
        }
    }

    #[test]
    fn class_weights_of_a_training_fold_balance_its_classes() {
        let sample = |label| MolSample {
            label,
            input: MolInput::Recorded(Sequence {
                side: 0,
                frames: vec![],
                flows: vec![],
                landmarks: vec![],
                peak_px: 0.0,
            }),
        };
        // The development split (negative 114, positive 37, surprise 20)
        // without CASME II sub01's fold (two negative, one positive).
        let samples: Vec<MolSample> =
            [(0, 112), (1, 36), (2, 20)].into_iter().flat_map(|(l, n)| (0..n).map(move |_| sample(l))).collect();
        let refs: Vec<&MolSample> = samples.iter().collect();
        let weights = mol_class_weights(&refs, 3).expect("weights");
        // 168 / (3 x count): 0.5, 1.5556, 2.8; each class's total is 56.
        let expected = [0.5, 168.0 / 108.0, 2.8];
        for (w, e) in weights.iter().zip(expected) {
            assert!((*w as f64 - e).abs() < 1e-6, "{weights:?}");
        }
        assert_eq!(mol_class_weights(&refs[..112], 3).expect("one class"), vec![1.0, 0.0, 0.0]);
        assert!(mol_class_weights(&refs, 2).is_err(), "a class past the model's");
    }

    #[test]
    fn class_weighted_mer_matches_a_hand_computed_value_and_unit_weights_the_official_nll() {
        let logits = Tensor::from_slice(&[2.0f32, 0.0, -1.0, 0.5, 0.5, 0.0, 0.0, 0.0, 3.0]).reshape([3, 3]);
        let labels = Tensor::from_slice(&[0i64, 1, 2]);
        let nll = |row: [f64; 3], label: usize| -(row[label].exp() / row.iter().map(|v| v.exp()).sum::<f64>()).ln();
        let parts = [nll([2.0, 0.0, -1.0], 0), nll([0.5, 0.5, 0.0], 1), nll([0.0, 0.0, 3.0], 2)];
        let official = f64::try_from(logits.log_softmax(-1, Kind::Float).nll_loss(&labels)).expect("host");
        let unit = Tensor::from_slice(&[1.0f32; 3]);
        let unit = f64::try_from(smoothed_weighted_cross_entropy(&logits, &labels, &unit, 0.0)).expect("host");
        let mean = parts.iter().sum::<f64>() / 3.0;
        assert!((official - mean).abs() < 1e-5 && (unit - mean).abs() < 1e-5, "{official} {unit} {mean}");
        let weights = [0.5f32, 1.5556, 2.8];
        let weighted =
            f64::try_from(smoothed_weighted_cross_entropy(&logits, &labels, &Tensor::from_slice(&weights), 0.0))
                .expect("host");
        let expected = parts.iter().zip(weights).map(|(p, w)| p * w as f64).sum::<f64>()
            / weights.iter().map(|&w| w as f64).sum::<f64>();
        // 0.1698, 0.9580, 0.0949: 0.4076 unweighted; weighted 0.3792, the
        // well-predicted surprise clip (weight 2.8) counting most.
        assert!((weighted - expected).abs() < 1e-5, "{weighted} vs {expected}");
        assert!((mean - 0.40760).abs() < 1e-4 && (weighted - 0.37915).abs() < 1e-4, "{mean} {weighted}");
    }

    /// Forty steps on eight real composite samples at a learning rate of
    /// 1e-3: each of the three losses falls, measured in evaluation mode on
    /// one fixed rendering of those clips before and after (the training
    /// losses are too noisy over so few steps, with MER's dropout and new
    /// clips every step). Measured: MER 1.123 -> 0.52-0.56, flow 0.221 ->
    /// 0.022, landmarks 0.987 -> 0.073 (the range: dropout draws from
    /// libtorch's global generator, which tests running alongside share).
    /// Twenty steps (or forty of four clips) left MER near its prior (1.09,
    /// 1.02). About 2 minutes on two busy cores.
    #[cfg(feature = "app")]
    #[test]
    fn smoke_training_lowers_all_three_losses() {
        use crate::train::mol_inputs::{apex_face, load_mesh};
        use crate::train::mol_sequences::unit_flow;
        use crate::train::Dataset;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/megc2019-composite");
        let names: Vec<String> = ["negative", "positive", "surprise"].map(String::from).to_vec();
        let data = Dataset::load(&root, &names).expect("the composite data set");
        let mesh = load_mesh(Device::Cpu).expect("face mesh");
        // Every 55th sample: all three source sets and all three classes.
        let samples: Vec<MolSample> = data
            .samples
            .iter()
            .step_by(55)
            .take(8)
            .map(|s| {
                MolSample::rendered(
                    s.label,
                    unit_flow(&s.flow).expect("flow"),
                    apex_face(&mesh, s.apex.as_ref().expect("apex"), 64).expect("apex face"),
                )
            })
            .collect();
        let labels: Vec<usize> = samples.iter().map(|s| s.label).collect();
        assert_eq!(labels.iter().collect::<std::collections::BTreeSet<_>>().len(), 3, "every class");
        let refs: Vec<&MolSample> = samples.iter().collect();
        let options = TrainOptions {
            epochs: 40,
            batch_size: 8,
            learning_rate: 1e-3,
            min_learning_rate: 1e-3,
            ..mol_lite_options(5)
        };
        let recipe = check_mol_options(&options).expect("options");
        let clips = render_all(&refs, &recipe.sequences, &mut Rng::new(99)).expect("clips");
        // The model train_mol starts from: the same seed under the same lock.
        let initial = {
            let _guard = INIT_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            tch::manual_seed(5);
            MolModel::new(recipe.config.clone(), Device::Cpu).expect("model")
        };
        let before = evaluation_losses(&initial, &clips, &labels, Device::Cpu).expect("before");
        let run = train_mol(&refs, &refs[..2], &options, 5, Device::Cpu).expect("trains");
        let after = evaluation_losses(&run.model, &clips, &labels, Device::Cpu).expect("after");
        let message = format!("before {before:?}, after {after:?}");
        assert!(after.mer < 0.8 * before.mer, "MER loss did not fall: {message}");
        assert!(after.flow < 0.8 * before.flow, "flow loss did not fall: {message}");
        assert!(after.landmarks < 0.8 * before.landmarks, "landmark loss did not fall: {message}");
        assert_eq!(run.held_out_predictions.len(), options.epochs);
        assert_eq!(run.held_out_probabilities.len(), 2);
        let (epe, nme) = (run.held_out_flow_epe.expect("EPE"), run.held_out_landmark_nme.expect("NME"));
        assert!(epe.is_finite() && nme.is_finite() && epe > 0.0 && nme > 0.0, "EPE {epe}, NME {nme}");
        eprintln!("{message}; held-out EPE {epe:.4} px, NME {nme:.4}");
    }
}
