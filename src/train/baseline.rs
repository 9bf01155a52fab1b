//! The STSTNet baseline's training, as its official code does it, for the
//! same LOSO folds, scoring and fold store as EPIR (see `model::ststnet`).
//!
//! Official recipe (`main.py` of christy1206/STSTNet): Adam, learning rate
//! 5e-5 constant, no weight decay; mini-batches of 256 in a fixed order, the
//! training samples listed class by class (its `DataLoader` does not
//! shuffle); plain cross-entropy; 800 epochs; no augmentation; inputs the
//! 8-bit flow images as read (0..255). Its reported score (0.7209 UF1) is
//! the last epoch's, as ours: the held-out subject is scored after every
//! epoch only for the optimistic figure, which stays labelled as such.
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

use super::augment::{Augmentation, Rng};
use super::dataset::Sample;
use super::trainer::{TrainError, TrainOptions, INIT_LOCK};
use crate::model::input::{INPUT_CHANNELS, INPUT_LEN, INPUT_SIDE};
use crate::model::ststnet::{Architecture, Ststnet, StstnetRecipe, INPUT_SCALE};

/// The options of the official recipe; epochs, batch size, learning rate
/// and seed may be changed (for smoke tests), nothing else.
pub fn ststnet_options(seed: u64) -> TrainOptions {
    TrainOptions {
        architecture: Architecture::Ststnet,
        epochs: StstnetRecipe::EPOCHS,
        batch_size: StstnetRecipe::BATCH_SIZE,
        learning_rate: StstnetRecipe::LEARNING_RATE,
        min_learning_rate: StstnetRecipe::LEARNING_RATE,
        warmup_epochs: 0,
        weight_decay: 0.0,
        label_smoothing: 0.0,
        class_weighting: false,
        augmentation: Augmentation { flip: 0.0, max_shift: 0 },
        ema_decay: None,
        mixup_alpha: None,
        seed,
        ..TrainOptions::default()
    }
}

/// Refuses options the STSTNet trainer would otherwise ignore, so that a
/// report never records a recipe that was not the one run.
pub fn check_ststnet_options(options: &TrainOptions) -> Result<(), TrainError> {
    options.validate()?;
    let expected = TrainOptions {
        epochs: options.epochs,
        batch_size: options.batch_size,
        learning_rate: options.learning_rate,
        min_learning_rate: options.learning_rate,
        ..ststnet_options(options.seed)
    };
    if *options != expected {
        return Err(TrainError::InvalidOptions(
            "STSTNet trains with its official recipe (Adam at a constant rate, plain cross-entropy, no \
             augmentation, EMA or mixup): only the epochs, batch size, learning rate and seed can change"
                .into(),
        ));
    }
    Ok(())
}

pub struct BaselineRun {
    pub model: Ststnet,
    pub vars: nn::VarStore,
    /// Mean training loss of each epoch.
    pub losses: Vec<f64>,
    /// Predicted classes of the held-out samples after each epoch.
    pub held_out_predictions: Vec<Vec<usize>>,
}

/// CHW flows in 0..1 -> `[B, 3, 28, 28]` on the official 0..255 scale.
fn official_batch<'a>(flows: impl Iterator<Item = &'a [f32]>, device: Device) -> Tensor {
    let mut flat = Vec::new();
    for flow in flows {
        flat.extend_from_slice(flow);
    }
    let n = (flat.len() / INPUT_LEN) as i64;
    let side = INPUT_SIDE as i64;
    (Tensor::from_slice(&flat).reshape([n, INPUT_CHANNELS as i64, side, side]) * INPUT_SCALE).to_device(device)
}

/// Trains one STSTNet on `train_set` with the official recipe, scoring
/// `held_out` after every epoch (reporting only: nothing reads it back).
pub fn train_ststnet(
    train_set: &[&Sample],
    held_out: &[&Sample],
    classes: usize,
    options: &TrainOptions,
    seed: u64,
    device: Device,
) -> Result<BaselineRun, TrainError> {
    check_ststnet_options(options)?;
    if train_set.is_empty() {
        return Err(TrainError::NoTrainingSamples);
    }
    let vars = nn::VarStore::new(device);
    let model = {
        let _guard = INIT_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tch::manual_seed(seed as i64);
        Ststnet::new(&vars.root(), classes as i64)
    };
    let mut optimizer = nn::Adam::default().build(&vars, options.learning_rate)?;
    // The official order: class by class, each class in the data's order,
    // the same every epoch.
    let mut order: Vec<usize> = (0..train_set.len()).collect();
    order.sort_by_key(|&i| train_set[i].label);
    let images = official_batch(order.iter().map(|&i| train_set[i].flow.as_slice()), device);
    let labels: Vec<i64> = order.iter().map(|&i| train_set[i].label as i64).collect();
    let targets = Tensor::from_slice(&labels).to_device(device);
    let held_out_batch =
        (!held_out.is_empty()).then(|| official_batch(held_out.iter().map(|s| s.flow.as_slice()), device));

    let mut rng = Rng::new(seed);
    let (mut bits, mut left) = (0u64, 0u32);
    let mut coin = move || {
        if left == 0 {
            bits = rng.next_u64();
            left = 64;
        }
        left -= 1;
        let kept = bits & 1 == 1;
        bits >>= 1;
        kept
    };
    let n = train_set.len() as i64;
    let batch = options.batch_size.max(1) as i64;
    let mut losses = Vec::with_capacity(options.epochs);
    let mut held_out_predictions = Vec::with_capacity(options.epochs);
    for epoch in 0..options.epochs {
        let mut loss_sum = 0.0;
        let mut start = 0;
        while start < n {
            let size = batch.min(n - start);
            let x = images.narrow(0, start, size);
            let y = targets.narrow(0, start, size);
            let masks = Ststnet::dropout_masks(size, &mut coin, device);
            let logits = model.forward(&x, Some(&masks));
            let loss = logits.cross_entropy_for_logits(&y);
            optimizer.backward_step(&loss);
            loss_sum += f64::try_from(&loss)? * size as f64;
            start += size;
        }
        let mean_loss = loss_sum / n as f64;
        if !mean_loss.is_finite() {
            return Err(TrainError::Diverged { epoch, loss: mean_loss });
        }
        losses.push(mean_loss);
        if let Some(batch) = &held_out_batch {
            held_out_predictions.push(predict(&model, batch)?);
        }
    }
    Ok(BaselineRun { model, vars, losses, held_out_predictions })
}

/// Arg-max classes in evaluation mode (no dropout, running statistics).
pub fn predict(model: &Ststnet, batch: &Tensor) -> Result<Vec<usize>, TrainError> {
    let logits = tch::no_grad(|| model.forward(batch, None));
    let classes = Vec::<i64>::try_from(logits.argmax(-1, false).to_kind(Kind::Int64).to_device(Device::Cpu))?;
    Ok(classes.into_iter().map(|c| c as usize).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_schedule_and_seed_of_the_official_recipe_can_change() {
        let official = ststnet_options(42);
        assert!(check_ststnet_options(&official).is_ok());
        assert_eq!((official.epochs, official.batch_size, official.learning_rate), (800, 256, 5e-5));
        let short =
            TrainOptions { epochs: 2, learning_rate: 1e-3, min_learning_rate: 1e-3, seed: 7, ..official.clone() };
        assert!(check_ststnet_options(&short).is_ok());
        for changed in [
            TrainOptions { ema_decay: Some(0.995), ..official.clone() },
            TrainOptions { mixup_alpha: Some(0.4), ..official.clone() },
            TrainOptions { class_weighting: true, ..official.clone() },
            TrainOptions { augmentation: Augmentation::default(), ..official.clone() },
            TrainOptions { architecture: Architecture::Epir, ..official.clone() },
        ] {
            let message = check_ststnet_options(&changed).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains("official recipe"), "{message}");
        }
    }
}
