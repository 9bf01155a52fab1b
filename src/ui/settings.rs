//! The app's persisted settings: a small RON file under the user's config
//! folder. A missing file means defaults; a malformed one also means
//! defaults, with a warning the UI shows (a settings file must never stop
//! the app from starting).
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::capture::CameraRequest;
use crate::device::DeviceChoice;
use crate::files::{write_atomic, WriteError};
use crate::pipeline::Classifier;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    Dark,
    Light,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Where the next analysis runs.
    pub device: DeviceChoice,
    /// Spotting sensitivity, 0 (only strong events) to 1 (everything).
    pub sensitivity: f32,
    /// Draw the EPIR attention heatmap over the face while an event is on.
    pub heatmap: bool,
    pub heatmap_opacity: f32,
    pub theme: Theme,
    /// Where the file dialog opens next.
    pub last_folder: Option<PathBuf>,
    /// The camera and mode live sessions ask for.
    pub camera: CameraRequest,
    /// Record the camera video beside the live session (for review later).
    pub record_live: bool,
    /// Where live sessions go (default: ~/.local/share/glimpse/live).
    pub live_dir: Option<PathBuf>,
    /// Where File ▸ Export writes (default: beside the video).
    pub export_dir: Option<PathBuf>,
    /// What classifies each event in the next analysis (EPIR, MOL-lite or
    /// both); settings files from before it read EPIR.
    pub classifier: Classifier,
    /// Draw MOL-lite's predicted flow (arrows) and apex landmarks over the
    /// face while one of its events is on.
    pub mol_overlay: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            device: DeviceChoice::Auto,
            sensitivity: 0.5,
            heatmap: true,
            heatmap_opacity: 0.6,
            theme: Theme::Dark,
            last_folder: None,
            camera: CameraRequest::default(),
            record_live: true,
            live_dir: None,
            export_dir: None,
            classifier: Classifier::Epir,
            mol_overlay: true,
        }
    }
}

impl Settings {
    /// Values brought into range: a hand-edited file may hold anything.
    pub fn sanitized(mut self) -> Self {
        let defaults = Self::default();
        let clamp01 = |v: f32, default: f32| if v.is_finite() { v.clamp(0.0, 1.0) } else { default };
        self.sensitivity = clamp01(self.sensitivity, defaults.sensitivity);
        self.heatmap_opacity = clamp01(self.heatmap_opacity, defaults.heatmap_opacity);
        let camera = &mut self.camera;
        if !(16..=7680).contains(&camera.width) || !(16..=4320).contains(&camera.height) {
            (camera.width, camera.height) = (defaults.camera.width, defaults.camera.height);
        }
        if !(1..=240).contains(&camera.fps) {
            camera.fps = defaults.camera.fps;
        }
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot serialise the settings: {0}")]
    Serialize(#[from] ron::Error),
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Settings as loaded, with what went wrong reading them, if anything.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedSettings {
    pub settings: Settings,
    /// Shown in the UI: the file was there but could not be used.
    pub warning: Option<String>,
}

/// `$XDG_CONFIG_HOME/glimpse/settings.ron`, else `~/.config/glimpse/settings.ron`.
pub fn settings_path() -> Option<PathBuf> {
    Some(crate::files::xdg_dir("XDG_CONFIG_HOME", ".config")?.join("glimpse").join("settings.ron"))
}

/// Reads the settings at `path`. Never fails: a missing file gives the
/// defaults silently, an unreadable or malformed one the defaults and a warning.
pub fn load_settings(path: &Path) -> LoadedSettings {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return LoadedSettings { settings: Settings::default(), warning: None }
        }
        Err(e) => {
            return LoadedSettings {
                settings: Settings::default(),
                warning: Some(format!("settings {} cannot be read ({e}); using defaults", path.display())),
            }
        }
    };
    match ron::from_str::<Settings>(&text) {
        Ok(settings) => LoadedSettings { settings: settings.sanitized(), warning: None },
        Err(e) => LoadedSettings {
            settings: Settings::default(),
            warning: Some(match set_aside(path) {
                Some(kept) => format!(
                    "settings {} are malformed ({e}); using defaults (the file is kept as {})",
                    path.display(),
                    kept.display()
                ),
                None => format!("settings {} are malformed ({e}); using defaults", path.display()),
            }),
        },
    }
}

/// Renames a malformed settings file to `settings.ron.bad`, so that the
/// next save does not destroy what the user may want to repair by hand.
fn set_aside(path: &Path) -> Option<PathBuf> {
    let kept = path.with_extension("ron.bad");
    std::fs::rename(path, &kept).ok().map(|()| kept)
}

/// Saves atomically, so a crash mid-save never leaves a torn settings file.
pub fn save_settings(settings: &Settings, path: &Path) -> Result<(), SettingsError> {
    let text = ron::ser::to_string_pretty(settings, ron::ser::PrettyConfig::default())?;
    write_atomic(path, text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("glimpse-settings-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn saved_settings_load_back() {
        let path = scratch("roundtrip").join("settings.ron");
        let settings = Settings {
            device: DeviceChoice::Cpu,
            sensitivity: 0.8,
            heatmap: false,
            heatmap_opacity: 0.7,
            theme: Theme::Light,
            last_folder: Some(PathBuf::from("/videos")),
            camera: CameraRequest { index: 2, width: 1280, height: 720, fps: 60, prefer_mjpeg: false },
            record_live: false,
            live_dir: Some(PathBuf::from("/data/live")),
            export_dir: Some(PathBuf::from("/data/exports")),
            classifier: Classifier::Both,
            mol_overlay: false,
        };
        save_settings(&settings, &path).expect("save");
        assert_eq!(load_settings(&path), LoadedSettings { settings, warning: None });
    }

    /// A settings file from before the classifier choice reads EPIR, with
    /// its other values kept.
    #[test]
    fn settings_from_before_the_classifier_choice_read_epir() {
        let path = scratch("before-mol").join("settings.ron");
        std::fs::create_dir_all(path.parent().expect("folder")).expect("folder");
        std::fs::write(&path, "(sensitivity: 0.7, heatmap: false)").expect("write");
        let loaded = load_settings(&path);
        assert_eq!(loaded.warning, None);
        assert_eq!((loaded.settings.classifier, loaded.settings.mol_overlay), (Classifier::Epir, true));
        assert_eq!((loaded.settings.sensitivity, loaded.settings.heatmap), (0.7, false));
    }

    #[test]
    fn a_missing_file_gives_defaults_without_a_warning() {
        let loaded = load_settings(&scratch("missing").join("settings.ron"));
        assert_eq!(loaded, LoadedSettings { settings: Settings::default(), warning: None });
    }

    #[test]
    fn a_malformed_file_gives_defaults_and_a_warning() {
        let dir = scratch("malformed");
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("settings.ron");
        std::fs::write(&path, "(device: gpu, sensitivity: \"high\"").expect("write");
        let loaded = load_settings(&path);
        assert_eq!(loaded.settings, Settings::default());
        let warning = loaded.warning.expect("a warning");
        assert!(warning.contains("malformed") && warning.contains("settings.ron.bad"), "{warning}");
        // Set aside, so a later save does not overwrite what the user wrote.
        assert!(!path.exists());
        assert!(dir.join("settings.ron.bad").is_file());
    }

    #[test]
    fn missing_fields_default_and_out_of_range_values_are_clamped() {
        let dir = scratch("partial");
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("settings.ron");
        std::fs::write(&path, "(theme: light, sensitivity: 3.0, camera: (index: 1, width: 0, fps: 1000))")
            .expect("write");
        let loaded = load_settings(&path);
        assert_eq!(loaded.warning, None);
        assert_eq!(loaded.settings.theme, Theme::Light);
        assert_eq!(loaded.settings.sensitivity, 1.0);
        assert_eq!(loaded.settings.heatmap_opacity, Settings::default().heatmap_opacity);
        // A camera mode no camera has falls back to the default mode.
        assert_eq!(loaded.settings.camera, CameraRequest { index: 1, ..CameraRequest::default() });
    }
}
