//! Folders of numbered frames, as micro-expression datasets ship them
//! (img1.jpg, img2.jpg, … or reg_img46.jpg …): sorted by the number in the
//! name, not by text.
use std::path::{Path, PathBuf};

use opencv::core::{Mat, MatTraitConst};
use opencv::imgcodecs;

use super::{CaptureError, Frame, FrameSource, SourceInfo, SourceKind};

const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "bmp", "tif", "tiff"];

pub struct ImageFolder {
    info: SourceInfo,
    files: Vec<PathBuf>,
    /// The frame number in each file's name: a gap in the numbering is a
    /// gap in time (frames dropped at capture), kept in the timestamps.
    numbers: Vec<u64>,
    fps: f64,
    next: usize,
    warnings: Vec<String>,
}

impl ImageFolder {
    pub fn open(path: &Path, fps: f64) -> Result<Self, CaptureError> {
        let bad = |problem: String| CaptureError::BadFolder { path: path.to_path_buf(), problem };
        if !(fps.is_finite() && fps > 0.0) {
            return Err(bad(format!("frame rate must be positive, got {fps}")));
        }
        let numbered = numbered_files(path)?;
        let first = read(&numbered[0].1, 0)?;
        let size = first.size().map_err(|source| CaptureError::OpenCv { path: numbered[0].1.clone(), source })?;
        let info = SourceInfo {
            path: path.to_path_buf(),
            kind: SourceKind::ImageFolder,
            width: size.width,
            height: size.height,
            nominal_fps: fps,
            frame_count: Some(numbered.len() as u64),
        };
        let mut warnings = Vec::new();
        let missing: u64 = numbered.windows(2).map(|w| w[1].0 - w[0].0 - 1).sum();
        if let Some(gap) = numbered.windows(2).find(|w| w[1].0 > w[0].0 + 1) {
            warnings.push(format!(
                "{}: {missing} frame numbers missing (the first gap: {} to {}); timestamps keep the gaps",
                path.display(),
                gap[0].1.file_name().unwrap_or_default().to_string_lossy(),
                gap[1].1.file_name().unwrap_or_default().to_string_lossy()
            ));
        }
        let (numbers, files) = numbered.into_iter().unzip();
        Ok(Self { info, files, numbers, fps, next: 0, warnings })
    }
}

/// The frames of a folder in order (by the number in their names), for
/// reading any one of them (playback).
pub fn frame_files(path: &Path) -> Result<Vec<PathBuf>, CaptureError> {
    Ok(numbered_files(path)?.into_iter().map(|(_, file)| file).collect())
}

/// The folder's images with their frame numbers, sorted; refused when a
/// name has no number, two share one, or there are none.
fn numbered_files(path: &Path) -> Result<Vec<(u64, PathBuf)>, CaptureError> {
    let bad = |problem: String| CaptureError::BadFolder { path: path.to_path_buf(), problem };
    let list_error = |source| CaptureError::List { path: path.to_path_buf(), source };
    let entries = std::fs::read_dir(path).map_err(list_error)?;
    let mut numbered: Vec<(u64, PathBuf)> = Vec::new();
    for entry in entries {
        let file = entry.map_err(list_error)?.path();
        if !is_image_file(&file) {
            continue;
        }
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        match frame_number(stem) {
            Some(n) => numbered.push((n, file)),
            None => return Err(bad(format!("{} has no frame number in its name", file.display()))),
        }
    }
    if numbered.is_empty() {
        return Err(bad("holds no images (.jpg, .png, .bmp, .tif)".into()));
    }
    numbered.sort();
    if let Some(pair) = numbered.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(bad(format!("{} and {} have the same frame number", pair[0].1.display(), pair[1].1.display())));
    }
    Ok(numbered)
}

/// A file a frame folder takes for a frame (by its extension).
pub fn is_image_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The last run of digits in a file stem: `reg_img046` → 46.
fn frame_number(stem: &str) -> Option<u64> {
    // Digits are one byte each, but the character before them may not be
    // (`Kamera_ü000`): step past it by its own length.
    let end = stem.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start =
        stem[..end].char_indices().rev().find(|(_, c)| !c.is_ascii_digit()).map_or(0, |(i, c)| i + c.len_utf8());
    stem[start..end].parse().ok()
}

fn read(file: &Path, index: u64) -> Result<Mat, CaptureError> {
    let name = file.to_str().unwrap_or_default();
    let image = imgcodecs::imread(name, imgcodecs::IMREAD_COLOR)
        .map_err(|source| CaptureError::OpenCv { path: file.to_path_buf(), source })?;
    if image.empty() {
        return Err(CaptureError::BadFrame { path: file.to_path_buf(), index, problem: "not a readable image".into() });
    }
    Ok(image)
}

impl FrameSource for ImageFolder {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        let Some(file) = self.files.get(self.next) else { return Ok(None) };
        let index = self.next as u64;
        let image = read(file, index)?;
        let size = image.size().map_err(|source| CaptureError::OpenCv { path: file.clone(), source })?;
        if size.width != self.info.width || size.height != self.info.height {
            return Err(CaptureError::BadFrame {
                path: file.clone(),
                index,
                problem: format!(
                    "is {}x{}, but the folder's first frame is {}x{}",
                    size.width, size.height, self.info.width, self.info.height
                ),
            });
        }
        let timestamp_s = (self.numbers[self.next] - self.numbers[0]) as f64 / self.fps;
        self.next += 1;
        Ok(Some(Frame { index, timestamp_s, image }))
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_numbers_come_from_the_last_digits() {
        assert_eq!(frame_number("img12"), Some(12));
        assert_eq!(frame_number("reg_img046"), Some(46));
        assert_eq!(frame_number("s01_003_frame7"), Some(7));
        assert_eq!(frame_number("apex"), None);
    }

    #[test]
    fn names_with_characters_beyond_ascii_keep_their_numbers() {
        assert_eq!(frame_number("Kamera_ü000"), Some(0));
        assert_eq!(frame_number("Kamera_ü012"), Some(12));
        assert_eq!(frame_number("顔の画像7"), Some(7));
        assert_eq!(frame_number("ü"), None);
    }
}
