//! Training and evaluation of EPIR on labelled flow data.
pub mod augment;
pub mod baseline;
pub mod calibration;
pub mod card;
pub mod compare;
pub mod dataset;
pub mod ensemble;
pub mod fold_store;
pub mod licensed;
#[cfg(feature = "app")]
pub mod licensed_prep;
pub mod metrics;
#[cfg(feature = "app")]
pub mod mol_inputs;
pub mod mol_card;
pub mod mol_sequences;
pub mod mol_ship;
pub mod mol_trainer;
pub mod protocol;
pub mod ship;
pub mod split;
pub mod trainer;

pub use dataset::{DataError, Dataset, Sample};
pub use protocol::{run_loso, LosoReport, LosoSettings};
pub use trainer::{train, TrainError, TrainOptions};
