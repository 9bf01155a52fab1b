//! The development split, fixed in code before any experiment: every
//! recipe choice (size, regularisation, loss, ensembles, calibration) is
//! made by LOSO over the development subjects alone, training on them
//! alone; the held-out subjects are never used for a choice, so the final
//! recipe's score on them cannot be flattered by choosing.
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Which subjects a LOSO run uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Subjects {
    /// Every subject: the final run of a chosen recipe.
    #[default]
    All,
    /// The development subjects only, trained and scored among themselves:
    /// where recipes are compared.
    Development,
}

/// Every third subject of each source data set, in sorted order, from the
/// first: a third of each set (SMIC 6 of 16, CASME II 8 of 24, SAMM 10 of
/// 28: 24 of 68), spread over each set's numbering.
pub fn development_folds<T>(folds: &BTreeMap<String, T>) -> BTreeSet<String> {
    let mut by_dataset: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    for key in folds.keys() {
        let dataset = key.split_once('/').map_or(key.as_str(), |(d, _)| d);
        by_dataset.entry(dataset).or_default().push(key);
    }
    by_dataset.values().flat_map(|keys| keys.iter().step_by(3).map(|k| (*k).clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_third_of_each_data_set_in_its_own_order() {
        let mut folds: BTreeMap<String, ()> = BTreeMap::new();
        for (dataset, subjects) in [("casme2", 24), ("samm", 28), ("smic", 16)] {
            for i in 1..=subjects {
                folds.insert(format!("{dataset}/s{i:02}"), ());
            }
        }
        let development = development_folds(&folds);
        let count = |d: &str| development.iter().filter(|k| k.starts_with(d)).count();
        assert_eq!((count("casme2/"), count("samm/"), count("smic/")), (8, 10, 6));
        assert_eq!(development.len(), 24);
        assert!(development.contains("casme2/s01") && development.contains("casme2/s04"));
        assert!(!development.contains("casme2/s02") && !development.contains("casme2/s03"));
        assert!(development.contains("smic/s16"), "16 = 1 + 3 * 5");
    }
}
