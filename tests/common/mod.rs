//! Helpers shared by the integration tests.
#![allow(dead_code)]
use std::path::{Path, PathBuf};

use opencv::core::{Mat, Scalar, Vector, CV_8UC3};
use opencv::imgcodecs;

/// The real MEGC2019 composite set, beside the clone as in CI.
pub fn shared_data() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/megc2019-composite");
    assert!(
        dir.join("labels.csv").is_file(),
        "the shared data set is missing at {} (it lives beside the clone)",
        dir.display()
    );
    dir
}

/// A data file where `glimpse::resources` finds it (for a test binary:
/// set-up's cache or the source tree), failing loudly when absent.
pub fn resource(resource: glimpse::resources::Resource) -> PathBuf {
    glimpse::resources::locate(resource).unwrap_or_else(|e| panic!("{e}"))
}

pub fn astronaut_path() -> PathBuf {
    resource(glimpse::resources::Resource::AstronautPhoto)
}

/// A fresh, empty directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("glimpse-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// Writes a solid-colour PNG of the given size (BGR order).
pub fn write_png(path: &Path, width: i32, height: i32, bgr: [f64; 3]) {
    let image = Mat::new_rows_cols_with_default(height, width, CV_8UC3, Scalar::new(bgr[0], bgr[1], bgr[2], 0.0))
        .expect("allocate image");
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create image dir");
    }
    let ok = imgcodecs::imwrite(path.to_str().expect("utf-8 path"), &image, &Vector::new()).expect("imwrite");
    assert!(ok, "could not write {}", path.display());
}
