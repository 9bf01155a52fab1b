//! Trains one EPIR on a set of samples with a schedule fixed in advance,
//! optionally scoring a held-out set after every epoch (for reporting only:
//! the schedule never looks at it).
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

use super::augment::{Augmentation, Rng};
use super::dataset::{count_classes, Sample};
use crate::model::input::{batch_of_images, INPUT_SIDE};
use crate::model::ststnet::Architecture;
use crate::model::{EpirConfig, EpirModel, ModelError};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainOptions {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Floor of the cosine decay.
    pub min_learning_rate: f64,
    pub warmup_epochs: usize,
    pub weight_decay: f64,
    pub label_smoothing: f64,
    /// Weight the loss by inverse class frequency (UF1 and UAR reward
    /// getting the rare classes right as much as the common one).
    pub class_weighting: bool,
    pub augmentation: Augmentation,
    /// Keep an exponential moving average of the weights with this decay
    /// (per step) and return / score it instead of the raw weights: the last
    /// epoch of a small-data run is then an average over the final epochs
    /// rather than one noisy point.
    pub ema_decay: Option<f64>,
    /// Mixup: blend each batch with a shuffled copy of itself, by a weight
    /// drawn from Beta(alpha, alpha), and the loss by the same weight.
    /// `None` turns it off; alpha must be in (0, 1].
    pub mixup_alpha: Option<f64>,
    pub seed: u64,
    /// The EMA's warm-up: step t averages with decay min(decay, (1+t)/(w+t)).
    /// The first recipes used w = 10, which reaches 0.995 only after 1,791
    /// steps, more than a whole run (1,040-1,120), so their real final decay
    /// was 0.991-0.992; w = 1 applies the decay from the first step (the
    /// random start still fades: 0.995^1000 < 0.01).
    #[serde(default = "legacy_ema_warmup", skip_serializing_if = "is_legacy_ema_warmup")]
    pub ema_warmup_steps: f64,
    /// Weight decay on every parameter (the first recipes), or only on the
    /// weight matrices of linear layers (`false`): decaying LayerNorm gains,
    /// biases, positional embeddings, the class token and the attention
    /// temperatures pulls them towards 0, which is no prior for any of them.
    #[serde(default = "legacy_decay_everything", skip_serializing_if = "is_legacy_decay")]
    pub decay_every_parameter: bool,
    /// How each epoch's samples are drawn.
    #[serde(default, skip_serializing_if = "Sampling::is_shuffle")]
    pub sampling: Sampling,
    /// The network: EPIR, or the STSTNet baseline (`train::baseline`, its
    /// official recipe). Left out of EPIR's JSON, so EPIR recipes keep their
    /// fold-store hashes; STSTNet's folds are stored apart.
    #[serde(default, skip_serializing_if = "Architecture::is_epir")]
    pub architecture: Architecture,
    /// MOL-lite's architecture, clips and loss weights (`train::mol_trainer`);
    /// absent for the other networks, so their recipes keep their keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mol: Option<super::mol_trainer::MolRecipe>,
    /// Weight of a supervised contrastive term (Khosla et al. 2020, SupCon,
    /// temperature `SUPCON_TEMPERATURE`) on the L2-normalised feature the
    /// classifier head sees, added to the cross-entropy. 0 (the first
    /// recipes) leaves it out, of the loss and of the recipe's JSON and key.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub supcon_weight: f64,
}

/// SupCon's temperature (the paper's and the 0.1).
pub const SUPCON_TEMPERATURE: f64 = 0.1;

/// How an epoch's samples are drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sampling {
    /// Every sample once, shuffled (the first recipes); class weights in
    /// the loss then balance the classes.
    #[default]
    Shuffle,
    /// As many draws, with replacement, each (class, source data set) cell
    /// equally likely: SAMM's and SMIC's rare classes are seen as often as
    /// CASME II's common one. The loss is then unweighted (the draw already
    /// balances the classes).
    ClassByDataset,
}

// Options added after the first recipes are left out of reports (and of the
// fold store's recipe key) at their old behaviour, so a recipe that does not
// use them keeps its key and its stored folds.
fn legacy_ema_warmup() -> f64 {
    10.0
}

fn is_legacy_ema_warmup(w: &f64) -> bool {
    *w == legacy_ema_warmup()
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn legacy_decay_everything() -> bool {
    true
}

fn is_legacy_decay(every: &bool) -> bool {
    *every
}

impl Sampling {
    fn is_shuffle(&self) -> bool {
        *self == Sampling::Shuffle
    }
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            epochs: 80,
            batch_size: 32,
            learning_rate: 1e-3,
            min_learning_rate: 1e-5,
            warmup_epochs: 5,
            weight_decay: 0.05,
            label_smoothing: 0.1,
            class_weighting: true,
            augmentation: Augmentation::default(),
            ema_decay: Some(0.995),
            mixup_alpha: Some(0.4),
            seed: 42,
            ema_warmup_steps: legacy_ema_warmup(),
            decay_every_parameter: legacy_decay_everything(),
            sampling: Sampling::Shuffle,
            architecture: Architecture::Epir,
            mol: None,
            supcon_weight: 0.0,
        }
    }
}

impl TrainOptions {
    /// Checks the values a schedule cannot run with; `train` calls it too.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::InvalidOptions(m));
        if self.epochs == 0 || self.batch_size == 0 {
            return bad("epochs and batch size must be at least 1".into());
        }
        // Written so that NaN and infinities are refused too (libtorch would
        // take them and fail later with a C++ trace).
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return bad(format!("the learning rate must be a positive number, found {}", self.learning_rate));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return bad(format!("the weight decay must be 0 or a positive number, found {}", self.weight_decay));
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return bad(format!("the label smoothing must be in [0, 1), found {}", self.label_smoothing));
        }
        if let Some(decay) = self.ema_decay.filter(|d| !(0.0..1.0).contains(d)) {
            return bad(format!("the EMA decay must be in [0, 1), found {decay}"));
        }
        if !(self.ema_warmup_steps >= 1.0 && self.ema_warmup_steps.is_finite()) {
            return bad(format!("the EMA warm-up must be a number of steps >= 1, found {}", self.ema_warmup_steps));
        }
        if let Some(alpha) = self.mixup_alpha.filter(|a| !(*a > 0.0 && *a <= 1.0)) {
            return bad(format!("the mixup alpha must be in (0, 1], found {alpha}"));
        }
        if !(self.supcon_weight >= 0.0 && self.supcon_weight.is_finite()) {
            return bad(format!("the SupCon weight must be 0 or a positive number, found {}", self.supcon_weight));
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("invalid training options: {0}")]
    InvalidOptions(String),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    #[error("nothing to train on")]
    NoTrainingSamples,
    #[error("training diverged at epoch {epoch}: the loss is {loss}")]
    Diverged { epoch: usize, loss: f64 },
    #[error("fold store: {0}")]
    FoldStore(#[from] super::fold_store::FoldStoreError),
    #[error(transparent)]
    Mol(#[from] crate::model::mol::MolError),
    #[error("rendering MOL clips: {0}")]
    Sequence(#[from] super::mol_sequences::SequenceError),
}

pub struct TrainedModel {
    pub model: EpirModel,
    /// Mean training loss of each epoch.
    pub losses: Vec<f64>,
    /// Predicted classes of the held-out samples after each epoch (with the
    /// test-time mirror when the config asks for it).
    pub held_out_predictions: Vec<Vec<usize>>,
    /// Last-epoch held-out predictions without the test-time mirror (empty
    /// when the config does not use it), to measure what the mirror adds.
    pub held_out_unmirrored: Vec<usize>,
    /// Last-epoch held-out class probabilities (with the mirror when the
    /// config uses it), for calibration.
    pub held_out_probabilities: Vec<Vec<f32>>,
}

/// libtorch initialises parameters from its one global generator; holding
/// this while seeding and building makes initialisation reproducible even
/// with folds training on several threads.
pub(crate) static INIT_LOCK: Mutex<()> = Mutex::new(());

pub fn train(
    config: &EpirConfig,
    train_set: &[&Sample],
    held_out: &[&Sample],
    options: &TrainOptions,
    seed: u64,
    device: Device,
) -> Result<TrainedModel, TrainError> {
    options.validate()?;
    if !options.architecture.is_epir() {
        return Err(TrainError::InvalidOptions("these options are for STSTNet: see train::baseline".into()));
    }
    if train_set.is_empty() {
        return Err(TrainError::NoTrainingSamples);
    }
    let input_len = config.input_channels() as usize * INPUT_SIDE * INPUT_SIDE;
    if let Some(sample) = train_set.iter().chain(held_out).find(|s| s.flow.len() != input_len) {
        return Err(TrainError::InvalidOptions(format!(
            "sample {} has {} input values where the config reads {input_len} ({} planes{})",
            sample.sample,
            sample.flow.len(),
            config.input_channels(),
            if config.apex_stream { ": the flow's and the apex crop's" } else { "" }
        )));
    }
    // Everything that draws from libtorch's generator happens under the lock.
    let (model, mut average) = {
        let _guard = INIT_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tch::manual_seed(seed as i64);
        let model = EpirModel::new(config.clone(), device)?;
        let average = match options.ema_decay {
            Some(decay) => Some(WeightAverage::new(&model, decay, options.ema_warmup_steps)?),
            None => None,
        };
        (model, average)
    };
    let optimizer_decay = if options.decay_every_parameter { options.weight_decay } else { 0.0 };
    let mut optimizer =
        nn::AdamW { wd: optimizer_decay, ..Default::default() }.build(&model.vars, options.learning_rate)?;
    let matrices = if options.decay_every_parameter { Vec::new() } else { decayed_matrices(&model) };
    let weighted = options.class_weighting && options.sampling == Sampling::Shuffle;
    let class_weights =
        Tensor::from_slice(&class_weights(train_set, config.class_names.len(), weighted)).to_device(device);
    let cells = class_dataset_cells(train_set);
    let drop_rates = config.drop_path_rates();
    let held_out_batch = (!held_out.is_empty()).then(|| stack(held_out.iter().map(|s| s.flow.as_slice()), device));

    let steps_per_epoch = train_set.len().div_ceil(options.batch_size.max(1));
    let schedule = Schedule::new(options, steps_per_epoch);
    let mut rng = Rng::new(seed);
    let mut order: Vec<usize> = (0..train_set.len()).collect();
    let mut losses = Vec::with_capacity(options.epochs);
    let mut held_out_predictions = Vec::with_capacity(options.epochs);
    let mut step = 0;
    for epoch in 0..options.epochs {
        match options.sampling {
            Sampling::Shuffle => rng.shuffle(&mut order),
            Sampling::ClassByDataset => {
                for slot in &mut order {
                    let cell = &cells[rng.below(cells.len())];
                    *slot = cell[rng.below(cell.len())];
                }
            }
        }
        let mut loss_sum = 0.0;
        for chunk in order.chunks(options.batch_size.max(1)) {
            let learning_rate = schedule.learning_rate(step);
            optimizer.set_lr(learning_rate);
            step += 1;
            let flows: Vec<Vec<f32>> =
                chunk.iter().map(|&i| options.augmentation.apply(&train_set[i].flow, &mut rng)).collect();
            let labels: Vec<i64> = chunk.iter().map(|&i| train_set[i].label as i64).collect();
            let images = stack(flows.iter().map(Vec::as_slice), device);
            let targets = Tensor::from_slice(&labels).to_device(device);
            let smoothing = options.label_smoothing;
            let loss = match options.mixup_alpha {
                Some(alpha) if chunk.len() > 1 => {
                    let lambda = rng.beta_symmetric(alpha);
                    let mut partner: Vec<i64> = (0..chunk.len() as i64).collect();
                    rng.shuffle(&mut partner);
                    let partner = Tensor::from_slice(&partner).to_device(device);
                    let mixed = &images * lambda + images.index_select(0, &partner) * (1.0 - lambda);
                    let keep = drop_path_masks(&drop_rates, chunk.len(), &mut rng, device);
                    let out = model.net.forward_dropping(&mixed, keep.as_deref());
                    let partner_targets = targets.index_select(0, &partner);
                    let own = smoothed_weighted_cross_entropy(&out.logits, &targets, &class_weights, smoothing);
                    let other =
                        smoothed_weighted_cross_entropy(&out.logits, &partner_targets, &class_weights, smoothing);
                    let loss = own * lambda + other * (1.0 - lambda);
                    // SupCon on the mixed batch's own features, each labelled
                    // by its dominant partner (weight >= 1/2): no second
                    // forward pass (which would double the cost of a step).
                    // Beta(0.4, 0.4) puts most of its mass near 0 and 1, so
                    // the dominant partner is usually most of the image; the
                    // term sees what the cross-entropy sees.
                    if options.supcon_weight > 0.0 {
                        let dominant = if lambda >= 0.5 { &targets } else { &partner_targets };
                        loss + supcon_loss(&out.feature, dominant, SUPCON_TEMPERATURE) * options.supcon_weight
                    } else {
                        loss
                    }
                }
                _ => {
                    let keep = drop_path_masks(&drop_rates, chunk.len(), &mut rng, device);
                    let out = model.net.forward_dropping(&images, keep.as_deref());
                    let loss = smoothed_weighted_cross_entropy(&out.logits, &targets, &class_weights, smoothing);
                    if options.supcon_weight > 0.0 {
                        loss + supcon_loss(&out.feature, &targets, SUPCON_TEMPERATURE) * options.supcon_weight
                    } else {
                        loss
                    }
                }
            };
            optimizer.zero_grad();
            loss.backward();
            // AdamW's decoupled decay (p -= lr * wd * p, with the gradient
            // taken at the undecayed p), here on the weight matrices alone.
            if !matrices.is_empty() {
                tch::no_grad(|| {
                    for weight in &matrices {
                        let _ = weight.shallow_clone().g_mul_scalar_(1.0 - learning_rate * options.weight_decay);
                    }
                });
            }
            optimizer.step();
            if let Some(average) = &mut average {
                average.update();
            }
            loss_sum += f64::try_from(&loss)? * chunk.len() as f64;
        }
        let mean_loss = loss_sum / train_set.len() as f64;
        if !mean_loss.is_finite() {
            return Err(TrainError::Diverged { epoch, loss: mean_loss });
        }
        losses.push(mean_loss);
        if let Some(batch) = &held_out_batch {
            let scored = average.as_ref().map_or(&model, |a| &a.model);
            held_out_predictions.push(predict_classes(scored, batch, config.test_time_mirror)?);
        }
    }
    let model = average.map_or(model, |a| a.model);
    let held_out_unmirrored = match &held_out_batch {
        Some(batch) if config.test_time_mirror => predict_classes(&model, batch, false)?,
        _ => Vec::new(),
    };
    let held_out_probabilities = match &held_out_batch {
        Some(batch) => {
            let (probabilities, _) = model.probabilities(batch, config.test_time_mirror);
            let flat = Vec::<f32>::try_from(probabilities.to_device(Device::Cpu).flatten(0, -1))?;
            flat.chunks(config.class_names.len()).map(<[f32]>::to_vec).collect()
        }
        None => Vec::new(),
    };
    Ok(TrainedModel { model, losses, held_out_predictions, held_out_unmirrored, held_out_probabilities })
}

/// Drop-path keep masks for one batch, two per block (`None` when drop-path
/// is off), drawn from the run's own generator so that folds trained in
/// parallel stay reproducible.
fn drop_path_masks(rates: &[f64], batch: usize, rng: &mut Rng, device: Device) -> Option<Vec<Tensor>> {
    if rates.iter().all(|&r| r == 0.0) {
        return None;
    }
    let mut masks = Vec::with_capacity(2 * rates.len());
    for &rate in rates {
        for _ in 0..2 {
            let keep: Vec<f32> =
                (0..batch).map(|_| if rng.unit() < rate { 0.0 } else { (1.0 / (1.0 - rate)) as f32 }).collect();
            masks.push(Tensor::from_slice(&keep).reshape([batch as i64, 1, 1]).to_device(device));
        }
    }
    Some(masks)
}

/// Indices of the training samples grouped by (class, source data set), in
/// a fixed order (cells sorted by key, samples in input order).
fn class_dataset_cells(samples: &[&Sample]) -> Vec<Vec<usize>> {
    let mut cells: std::collections::BTreeMap<(usize, &str), Vec<usize>> = std::collections::BTreeMap::new();
    for (index, sample) in samples.iter().enumerate() {
        cells.entry((sample.label, sample.dataset.as_str())).or_default().push(index);
    }
    cells.into_values().collect()
}

/// The parameters weight decay applies to when it spares the rest: the
/// weight matrices of linear layers (2-D tensors named `…weight`), not
/// LayerNorm gains, biases, embeddings, the class token or temperatures.
fn decayed_matrices(model: &EpirModel) -> Vec<Tensor> {
    let mut named: Vec<(String, Tensor)> = model
        .vars
        .variables()
        .into_iter()
        .filter(|(name, tensor)| name.ends_with("weight") && tensor.dim() == 2)
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named.into_iter().map(|(_, tensor)| tensor).collect()
}

/// An exponential moving average of a model's weights, in a model of its own.
struct WeightAverage {
    model: EpirModel,
    /// (average, live) variable pairs, matched by name.
    pairs: Vec<(Tensor, Tensor)>,
    decay: f64,
    warmup_steps: f64,
    updates: u64,
}

impl WeightAverage {
    fn new(live: &EpirModel, decay: f64, warmup_steps: f64) -> Result<Self, TrainError> {
        let mut model = EpirModel::new(live.config.clone(), live.device)?;
        model.vars.copy(&live.vars)?;
        let live_vars = live.vars.variables();
        let pairs = model
            .vars
            .variables()
            .into_iter()
            .filter_map(|(name, average)| live_vars.get(&name).map(|v| (average, v.shallow_clone())))
            .collect();
        Ok(Self { model, pairs, decay, warmup_steps, updates: 0 })
    }

    /// The decay applied at update `t` (1-based).
    fn effective_decay(&self, t: f64) -> f64 {
        self.decay.min((1.0 + t) / (self.warmup_steps + t))
    }

    fn update(&mut self) {
        self.updates += 1;
        // Early on, average over fewer steps so the random start fades fast.
        let t = self.updates as f64;
        let decay = self.effective_decay(t);
        tch::no_grad(|| {
            for (average, live) in &mut self.pairs {
                let _ = average.lerp_(&*live, 1.0 - decay);
            }
        });
    }
}

/// Arg-max classes for a prepared batch, without gradients.
pub fn predict_classes(model: &EpirModel, batch: &Tensor, mirror: bool) -> Result<Vec<usize>, TrainError> {
    let (probabilities, _) = model.probabilities(batch, mirror);
    let classes = Vec::<i64>::try_from(probabilities.argmax(-1, false).to_device(Device::Cpu))?;
    Ok(classes.into_iter().map(|c| c as usize).collect())
}

/// CHW flows in 0..1 (with the apex stream's plane when the config has
/// it) -> a normalised `[B, C, H, W]` batch on `device`.
pub fn stack<'a>(flows: impl Iterator<Item = &'a [f32]>, device: Device) -> Tensor {
    let mut flat = Vec::new();
    let mut count = 0;
    for flow in flows {
        flat.extend_from_slice(flow);
        count += 1;
    }
    batch_of_images(&flat, count, device)
}

/// Inverse-frequency class weights normalised so a balanced set gets 1.0 each.
pub fn class_weights(samples: &[&Sample], classes: usize, weighted: bool) -> Vec<f32> {
    if !weighted {
        return vec![1.0; classes];
    }
    class_weights_of_counts(&count_classes(samples.iter().copied(), classes))
}

/// [`class_weights`] (weighted) from the count of each class: total /
/// (present classes x count), 0 for an absent class.
pub fn class_weights_of_counts(counts: &[usize]) -> Vec<f32> {
    let total: usize = counts.iter().sum();
    let present = counts.iter().filter(|&&c| c > 0).count().max(1);
    counts.iter().map(|&c| if c == 0 { 0.0 } else { total as f32 / (present as f32 * c as f32) }).collect()
}

/// Cross-entropy against label-smoothed targets, each sample weighted by its
/// class weight; the mean is over the weights.
pub fn smoothed_weighted_cross_entropy(
    logits: &Tensor,
    targets: &Tensor,
    class_weights: &Tensor,
    smoothing: f64,
) -> Tensor {
    let classes = logits.size()[1];
    let log_probs = logits.log_softmax(-1, Kind::Float);
    let soft = targets.one_hot(classes).to_kind(Kind::Float) * (1.0 - smoothing) + smoothing / classes as f64;
    let per_sample = -(soft * log_probs).sum_dim_intlist(-1, false, Kind::Float);
    let weights = class_weights.index_select(0, targets);
    (per_sample * &weights).sum(Kind::Float) / weights.sum(Kind::Float).clamp_min(1e-12)
}

/// Supervised contrastive loss (Khosla et al. 2020, their L_out) of
/// `features` `[B, D]` with `labels` `[B]`: the features are L2-normalised
/// to z, and each anchor i with at least one other sample of its class
/// (positives P(i)) scores
/// `-1/|P(i)| * sum_{p in P(i)} log(exp(z_i.z_p / t) / sum_{a != i} exp(z_i.z_a / t))`;
/// the loss is the mean over those anchors (0 when no anchor has a
/// positive). Unweighted by class: every anchor counts once.
pub fn supcon_loss(features: &Tensor, labels: &Tensor, temperature: f64) -> Tensor {
    let batch = features.size()[0];
    let device = features.device();
    let z = features.to_kind(Kind::Float);
    let z = &z / z.norm_scalaropt_dim(2, [-1i64].as_slice(), true).clamp_min(1e-12);
    let similarity = z.matmul(&z.transpose(0, 1)) / temperature;
    let own = Tensor::eye(batch, (Kind::Bool, device));
    // A large finite negative rather than -inf: the diagonal's log-probability
    // is then finite, and zero positive weight keeps it out of the sum.
    let log_prob = similarity.masked_fill(&own, -1e9).log_softmax(1, Kind::Float);
    let positives = labels.unsqueeze(1).eq_tensor(&labels.unsqueeze(0)).logical_and(&own.logical_not());
    let positives = positives.to_kind(Kind::Float);
    let counts = positives.sum_dim_intlist(1, false, Kind::Float);
    let per_anchor = -(positives * log_prob).sum_dim_intlist(1, false, Kind::Float) / counts.clamp_min(1.0);
    let anchors = counts.gt(0.0).to_kind(Kind::Float);
    (per_anchor * &anchors).sum(Kind::Float) / anchors.sum(Kind::Float).clamp_min(1.0)
}

/// Linear warm-up, then cosine decay to the floor, by optimiser step.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    peak: f64,
    floor: f64,
    warmup_steps: usize,
    total_steps: usize,
}

impl Schedule {
    pub fn new(options: &TrainOptions, steps_per_epoch: usize) -> Self {
        Self {
            peak: options.learning_rate,
            floor: options.min_learning_rate,
            warmup_steps: options.warmup_epochs * steps_per_epoch,
            total_steps: (options.epochs * steps_per_epoch).max(1),
        }
    }

    pub fn learning_rate(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return self.peak * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let span = (self.total_steps.saturating_sub(self.warmup_steps + 1)).max(1);
        let progress = ((step - self.warmup_steps) as f64 / span as f64).min(1.0);
        self.floor + 0.5 * (self.peak - self.floor) * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_decays_to_the_floor() {
        let options = TrainOptions {
            epochs: 10,
            warmup_epochs: 2,
            learning_rate: 1e-3,
            min_learning_rate: 1e-5,
            ..Default::default()
        };
        let schedule = Schedule::new(&options, 5);
        assert!((schedule.learning_rate(0) - 1e-4).abs() < 1e-12);
        assert!((schedule.learning_rate(9) - 1e-3).abs() < 1e-12);
        assert!((schedule.learning_rate(10) - 1e-3).abs() < 1e-12);
        assert!((schedule.learning_rate(49) - 1e-5).abs() < 1e-6);
        assert!(schedule.learning_rate(30) < schedule.learning_rate(20));
    }

    #[test]
    fn weight_average_moves_towards_the_live_weights_by_the_decay() {
        let live = EpirModel::new(EpirConfig::default(), Device::Cpu).expect("model");
        let mut average = WeightAverage::new(&live, 0.5, 10.0).expect("average");
        let name = "head.bias";
        let before = average.model.vars.variables()[name].copy();
        tch::no_grad(|| {
            let _ = live.vars.variables()[name].shallow_clone().fill_(1.0);
        });
        average.update();
        // First update: decay = min(0.5, 2/11) = 2/11.
        let decay = 2.0 / 11.0;
        let expected = before * decay + (1.0 - decay);
        let after = &average.model.vars.variables()[name];
        let worst = f64::try_from((after - expected).abs().max()).expect("tensor values on the host");
        assert!(worst < 1e-6, "off by {worst}");
    }

    #[test]
    fn the_legacy_ema_warm_up_never_reaches_its_decay_in_a_run_and_the_short_one_does() {
        let live = EpirModel::new(EpirConfig::default(), Device::Cpu).expect("model");
        let legacy = WeightAverage::new(&live, 0.995, 10.0).expect("average");
        // The last step of an 80-epoch run on the composite set (13-14 steps an epoch).
        let last = legacy.effective_decay(1_040.0);
        assert!((last - 1_041.0 / 1_050.0).abs() < 1e-12 && last < 0.9915, "{last}");
        assert!(legacy.effective_decay(1_791.0) >= 0.995 && legacy.effective_decay(1_789.0) < 0.995);
        let short = WeightAverage::new(&live, 0.995, 1.0).expect("average");
        assert_eq!(short.effective_decay(1.0), 0.995);
        assert_eq!(short.effective_decay(1_040.0), 0.995);
    }

    #[test]
    fn decay_spares_norms_biases_embeddings_and_temperatures() {
        let model = EpirModel::new(EpirConfig::default(), Device::Cpu).expect("model");
        let variables = model.vars.variables();
        let decayed = decayed_matrices(&model);
        let decayed_count: i64 = decayed.iter().map(|t| t.numel() as i64).sum();
        let matrices: Vec<&String> =
            variables.iter().filter(|(n, t)| n.ends_with("weight") && t.dim() == 2).map(|(n, _)| n).collect();
        assert_eq!(decayed.len(), matrices.len());
        assert!(matrices.iter().any(|n| n.as_str() == "head.weight"));
        // Spared: every 1-D tensor (norm gains, biases, temperatures) and the embeddings.
        let spared: i64 = variables
            .iter()
            .filter(|(n, t)| !(n.ends_with("weight") && t.dim() == 2))
            .map(|(_, t)| t.numel() as i64)
            .sum();
        let total: i64 = variables.values().map(|t| t.numel() as i64).sum();
        assert_eq!(decayed_count + spared, total);
        for name in ["positions", "class_token", "head_norm.weight", "head.bias"] {
            assert!(variables.contains_key(name), "{name} is a variable");
            assert!(!matrices.iter().any(|n| n.as_str() == name), "{name} is not decayed");
        }
        // The embeddings and the class token alone are thousands of parameters.
        assert!(spared > 3_000 && decayed_count > 300_000, "spared {spared}, decayed {decayed_count}");
    }

    #[test]
    fn options_out_of_range_are_refused_with_the_value() {
        let check = |options: TrainOptions| options.validate().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(TrainOptions::default().validate().is_ok());
        assert!(check(TrainOptions { epochs: 0, ..Default::default() }).contains("at least 1"));
        assert!(check(TrainOptions { ema_decay: Some(1.0), ..Default::default() })
            .contains("EMA decay must be in [0, 1), found 1"));
        assert!(check(TrainOptions { mixup_alpha: Some(1.5), ..Default::default() })
            .contains("mixup alpha must be in (0, 1], found 1.5"));
        assert!(check(TrainOptions { mixup_alpha: Some(0.0), ..Default::default() }).contains("found 0"));
        assert!(check(TrainOptions { learning_rate: f64::NAN, ..Default::default() })
            .contains("learning rate must be a positive number, found NaN"));
        assert!(check(TrainOptions { learning_rate: -1e-3, ..Default::default() }).contains("found -0.001"));
        assert!(check(TrainOptions { ema_decay: Some(f64::NAN), ..Default::default() }).contains("found NaN"));
        assert!(check(TrainOptions { ema_warmup_steps: 0.5, ..Default::default() })
            .contains("EMA warm-up must be a number of steps >= 1, found 0.5"));
    }

    /// Mean LayerNorm gain and weight-matrix norm after 4 steps at a huge
    /// decay (factor 1 - lr*wd = 0.95 a step), where Adam itself moves a
    /// parameter by about lr a step.
    fn after_strong_decay(decay_every_parameter: bool) -> (f64, f64, f64) {
        let samples: Vec<Sample> = (0..8)
            .map(|i| Sample {
                dataset: "d".into(),
                subject: "s".into(),
                sample: format!("x{i}"),
                label: i % 3,
                flow: (0..3 * 28 * 28).map(|j| ((i * 31 + j * 7) % 97) as f32 / 96.0).collect(),
                apex: None,
            })
            .collect();
        let refs: Vec<&Sample> = samples.iter().collect();
        let options = TrainOptions {
            epochs: 1,
            batch_size: 2,
            learning_rate: 1e-3,
            min_learning_rate: 1e-3,
            warmup_epochs: 0,
            weight_decay: 50.0,
            ema_decay: None,
            mixup_alpha: None,
            decay_every_parameter,
            ..Default::default()
        };
        let config = EpirConfig::default();
        let norm = |m: &EpirModel| f64::try_from(m.vars.variables()["head.weight"].norm()).expect("host");
        // The same start as `train` draws for seed 3.
        let start = {
            let _guard = INIT_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            tch::manual_seed(3);
            EpirModel::new(config.clone(), Device::Cpu).expect("model")
        };
        let trained = train(&config, &refs, &[], &options, 3, Device::Cpu).expect("train").model;
        let gain = f64::try_from(trained.vars.variables()["head_norm.weight"].mean(Kind::Float)).expect("host");
        (gain, norm(&start), norm(&trained))
    }

    #[test]
    fn sparing_norms_keeps_their_gains_while_matrices_still_decay() {
        let (gain, start, end) = after_strong_decay(false);
        assert!((gain - 1.0).abs() < 0.01, "LayerNorm gain {gain}");
        assert!(end < 0.9 * start, "head matrix norm {start} -> {end}");
        let (gain, start, end) = after_strong_decay(true);
        assert!(gain < 0.9, "decayed with the rest: LayerNorm gain {gain}");
        assert!(end < 0.9 * start, "head matrix norm {start} -> {end}");
    }

    #[test]
    fn options_added_later_stay_out_of_a_legacy_recipe_and_its_key() {
        let json = serde_json::to_string(&TrainOptions::default()).expect("json");
        for field in ["ema_warmup_steps", "decay_every_parameter", "sampling", "supcon_weight"] {
            assert!(!json.contains(field), "{field} in {json}");
        }
        let config = serde_json::to_string(&EpirConfig::default()).expect("json");
        for field in ["shift_fill", "drop_path", "temperature"] {
            assert!(!config.contains(field), "{field} in {config}");
        }
        let changed = TrainOptions {
            sampling: Sampling::ClassByDataset,
            ema_warmup_steps: 1.0,
            supcon_weight: 0.1,
            ..Default::default()
        };
        let json = serde_json::to_string(&changed).expect("json");
        assert!(
            json.contains("\"sampling\":\"ClassByDataset\"") && json.contains("\"ema_warmup_steps\":1.0"),
            "{json}"
        );
        assert!(json.contains("\"supcon_weight\":0.1"), "{json}");
        let back: TrainOptions = serde_json::from_str(&json).expect("read back");
        assert_eq!(back, changed);
    }

    #[test]
    fn the_apex_stream_trains_on_four_planes_and_refuses_three() {
        let plane = 28 * 28;
        let make = |i: usize, planes: usize| Sample {
            dataset: "d".into(),
            subject: "s".into(),
            sample: format!("x{i}"),
            label: i % 3,
            flow: (0..planes * plane).map(|j| ((i * 31 + j * 7) % 97) as f32 / 96.0).collect(),
            apex: None,
        };
        let options = TrainOptions { epochs: 1, batch_size: 4, warmup_epochs: 0, ..Default::default() };
        let config = EpirConfig { apex_stream: true, test_time_mirror: true, ..Default::default() };
        let four: Vec<Sample> = (0..6).map(|i| make(i, 4)).collect();
        let refs: Vec<&Sample> = four.iter().collect();
        let trained = train(&config, &refs[..4], &refs[4..], &options, 5, Device::Cpu).expect("train");
        assert_eq!(trained.model.param_count(), 394_419 + 80 * (2 + 64));
        assert_eq!(trained.held_out_predictions.len(), 1);
        assert_eq!(trained.held_out_predictions[0].len(), 2);
        assert_eq!(trained.held_out_unmirrored.len(), 2);
        let three: Vec<Sample> = (0..4).map(|i| make(i, 3)).collect();
        let refs: Vec<&Sample> = three.iter().collect();
        let message = train(&config, &refs, &[], &options, 5, Device::Cpu).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("sample x0 has 2352 input values where the config reads 3136"), "{message}");
    }

    #[test]
    fn class_by_dataset_cells_group_every_sample_once() {
        let make = |label, dataset: &str| Sample {
            dataset: dataset.into(),
            subject: "s".into(),
            sample: "x".into(),
            label,
            flow: vec![],
            apex: None,
        };
        let samples = [make(0, "casme2"), make(0, "casme2"), make(1, "samm"), make(0, "samm"), make(0, "casme2")];
        let refs: Vec<&Sample> = samples.iter().collect();
        // (0, casme2), (0, samm), (1, samm): a rare cell is drawn as often as the common one.
        assert_eq!(class_dataset_cells(&refs), vec![vec![0, 1, 4], vec![3], vec![2]]);
    }

    #[test]
    fn class_weights_balance_the_classes() {
        let make = |label| Sample {
            dataset: "d".into(),
            subject: "s".into(),
            sample: "x".into(),
            label,
            flow: vec![],
            apex: None,
        };
        let samples: Vec<Sample> = [0, 0, 0, 1].into_iter().map(make).collect();
        let refs: Vec<&Sample> = samples.iter().collect();
        let weights = class_weights(&refs, 3, true);
        // 4 samples over 2 present classes: 4/(2*3) and 4/(2*1); absent class 0.
        assert_eq!(weights, vec![4.0 / 6.0, 2.0, 0.0]);
        // Weighted totals per class are equal.
        assert!((weights[0] * 3.0 - weights[1] * 1.0).abs() < 1e-6);
    }

    #[test]
    fn loss_matches_a_hand_computed_value() {
        let logits = Tensor::from_slice(&[2.0f32, 0.0, 0.0, 0.0, 1.0, 0.0]).reshape([2, 3]);
        let targets = Tensor::from_slice(&[0i64, 1]);
        let weights = Tensor::from_slice(&[1.0f32, 3.0, 1.0]);
        let loss = f64::try_from(smoothed_weighted_cross_entropy(&logits, &targets, &weights, 0.0))
            .expect("tensor values on the host");
        let nll0 = -(2f64.exp() / (2f64.exp() + 2.0)).ln();
        let nll1 = -(1f64.exp() / (1f64.exp() + 2.0)).ln();
        let expected = (nll0 * 1.0 + nll1 * 3.0) / 4.0;
        assert!((loss - expected).abs() < 1e-5, "{loss} vs {expected}");
    }
    fn supcon_of(features: &[f32], labels: &[i64], temperature: f64) -> f64 {
        let features = Tensor::from_slice(features).reshape([labels.len() as i64, -1]);
        f64::try_from(supcon_loss(&features, &Tensor::from_slice(labels), temperature)).expect("host")
    }

    #[test]
    fn supcon_matches_a_hand_computed_value() {
        // Normalised: z0 = (1, 0), z1 = (0.6, 0.8), z2 = (0, 1), z3 = (-1, 0);
        // over t = 0.1 the similarities are s01 = 6, s02 = 0, s03 = -10,
        // s12 = 8, s13 = -6, s23 = 0. Anchor 2 is the only one of its class
        // and is left out; 0, 1 and 3 each have two positives.
        let loss = supcon_of(&[2.0, 0.0, 3.0, 4.0, 0.0, 0.5, -1.0, 0.0], &[0, 0, 1, 0], 0.1);
        let (d0, d1, d3) = (
            6f64.exp() + 1.0 + (-10f64).exp(),
            6f64.exp() + 8f64.exp() + (-6f64).exp(),
            (-10f64).exp() + (-6f64).exp() + 1.0,
        );
        let a0 = -0.5 * ((6.0 - d0.ln()) + (-10.0 - d0.ln()));
        let a1 = -0.5 * ((6.0 - d1.ln()) + (-6.0 - d1.ln()));
        let a3 = -0.5 * ((-10.0 - d3.ln()) + (-6.0 - d3.ln()));
        let expected = (a0 + a1 + a3) / 3.0;
        assert!((expected - 8.043_975).abs() < 1e-5, "{expected}");
        assert!((loss - expected).abs() < 1e-4, "{loss} vs {expected}");
        // No anchor with a positive: nothing to contrast.
        assert_eq!(supcon_of(&[1.0, 0.0, 0.0, 1.0], &[0, 1], 0.1), 0.0);
    }

    #[test]
    fn supcon_is_lower_when_same_class_features_align() {
        let labels = [0, 0, 1, 1];
        let aligned = supcon_of(&[1.0, 0.0, 1.0, 0.1, 0.0, 1.0, 0.1, 1.0], &labels, SUPCON_TEMPERATURE);
        let crossed = supcon_of(&[1.0, 0.0, 0.0, 1.0, 1.0, 0.1, 0.1, 1.0], &labels, SUPCON_TEMPERATURE);
        assert!(aligned < 0.01 && crossed > 1.0, "aligned {aligned}, crossed {crossed}");
        // Scale does not matter: the features are normalised.
        let scaled = supcon_of(&[5.0, 0.0, 5.0, 0.5, 0.0, 5.0, 0.5, 5.0], &labels, SUPCON_TEMPERATURE);
        assert!((scaled - aligned).abs() < 1e-6, "{scaled} vs {aligned}");
    }

    #[test]
    fn supcon_trains_with_and_without_mixup_and_is_refused_negative() {
        let samples: Vec<Sample> = (0..6)
            .map(|i| Sample {
                dataset: "d".into(),
                subject: "s".into(),
                sample: format!("x{i}"),
                label: i % 3,
                flow: (0..3 * 28 * 28).map(|j| ((i * 17 + j * 5) % 89) as f32 / 88.0).collect(),
                apex: None,
            })
            .collect();
        let refs: Vec<&Sample> = samples.iter().collect();
        for mixup_alpha in [Some(0.4), None] {
            let options =
                TrainOptions { epochs: 1, batch_size: 6, supcon_weight: 0.5, mixup_alpha, ..Default::default() };
            let trained = train(&EpirConfig::default(), &refs, &[], &options, 5, Device::Cpu).expect("train");
            assert!(trained.losses[0].is_finite() && trained.losses[0] > 0.0, "{:?}", trained.losses);
        }
        let bad = TrainOptions { supcon_weight: -0.1, ..Default::default() }.validate().expect_err("negative");
        assert!(bad.to_string().contains("SupCon weight must be 0 or a positive number, found -0.1"), "{bad}");
    }
}
