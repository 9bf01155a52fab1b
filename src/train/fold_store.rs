//! Resumable LOSO: each fold's result is written the moment it finishes,
//! into a folder named after a hash of everything that decides it (the
//! architecture, the training options with the seed, the subjects used and
//! the data's samples and labels). A rerun of the same recipe reads the
//! finished folds back and trains only the rest, so a long run spans
//! sessions and machines; the folder is meant to be committed.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::dataset::Dataset;
use super::protocol::FoldResult;
use super::split::Subjects;
use super::trainer::TrainOptions;
use crate::model::EpirConfig;

#[derive(Debug, thiserror::Error)]
pub enum FoldStoreError {
    #[error(transparent)]
    Write(#[from] crate::files::WriteError),
    #[error("{path}: {problem}")]
    Damaged { path: PathBuf, problem: String },
    #[error("cannot encode the recipe: {0}")]
    Encode(String),
}

/// What a fold folder holds besides the folds: the recipe in full, for
/// people and for checking a hash is not reused by another recipe.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    pub config: EpirConfig,
    pub options: TrainOptions,
    pub subjects: Subjects,
    /// FNV-1a of every sample's data set, subject, name and label.
    pub data_hash: String,
}

impl Recipe {
    pub fn new(config: &EpirConfig, options: &TrainOptions, subjects: Subjects, dataset: &Dataset) -> Self {
        let mut data = String::new();
        for s in &dataset.samples {
            data.push_str(&format!("{}\t{}\t{}\t{}\n", s.dataset, s.subject, s.sample, s.label));
        }
        Self { config: config.clone(), options: options.clone(), subjects, data_hash: format!("{:016x}", fnv1a(data.as_bytes())) }
    }

    /// 16 hex digits naming the recipe's folder.
    pub fn key(&self) -> Result<String, FoldStoreError> {
        let text = serde_json::to_string(self).map_err(|e| FoldStoreError::Encode(e.to_string()))?;
        Ok(format!("{:016x}", fnv1a(text.as_bytes())))
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// One recipe's folder of finished folds.
pub struct FoldStore {
    pub dir: PathBuf,
}

impl FoldStore {
    /// `<root>/<recipe key>/`, with `recipe.json` written once.
    pub fn open(root: &Path, recipe: &Recipe) -> Result<Self, FoldStoreError> {
        let dir = root.join(recipe.key()?);
        let recipe_path = dir.join("recipe.json");
        if !recipe_path.exists() {
            let text = serde_json::to_string_pretty(recipe).map_err(|e| FoldStoreError::Encode(e.to_string()))?;
            crate::files::write_atomic(&recipe_path, text.as_bytes())?;
        } else {
            let stored: Recipe = read_json(&recipe_path)?;
            if &stored != recipe {
                return Err(FoldStoreError::Damaged {
                    path: recipe_path,
                    problem: "another recipe has the same hash; move the folder aside".into(),
                });
            }
        }
        Ok(Self { dir })
    }

    fn path(&self, fold: &str) -> PathBuf {
        self.dir.join(format!("{}.json", fold.replace('/', "__")))
    }

    /// The finished fold, if stored; a damaged file is an error naming it
    /// (never silently retrained over).
    pub fn load(&self, fold: &str) -> Result<Option<FoldResult>, FoldStoreError> {
        let path = self.path(fold);
        if !path.exists() {
            return Ok(None);
        }
        let result: FoldResult = read_json(&path)?;
        if result.fold != fold {
            return Err(FoldStoreError::Damaged { path, problem: format!("holds fold {}", result.fold) });
        }
        Ok(Some(result))
    }

    pub fn save(&self, result: &FoldResult) -> Result<PathBuf, FoldStoreError> {
        let path = self.path(&result.fold);
        let text = serde_json::to_string(result).map_err(|e| FoldStoreError::Encode(e.to_string()))?;
        crate::files::write_atomic(&path, text.as_bytes())?;
        Ok(path)
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, FoldStoreError> {
    let damaged = |problem: String| FoldStoreError::Damaged { path: path.to_path_buf(), problem };
    let text = std::fs::read_to_string(path).map_err(|e| damaged(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| damaged(format!("{e} (delete the file to train the fold again)")))
}
