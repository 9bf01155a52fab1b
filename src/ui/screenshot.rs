//! The scripted proof (`--screenshot-dir DIR --exit-after-analysis`): once
//! the analysis has finished, seek to the strongest event's apex, wait for
//! that frame to be on screen, take a screenshot of the window and write
//! it, and crops of the timeline and event list, as PNGs; then quit. One
//! more shot is taken half-way through the analysis.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui::{ColorImage, Rect};
use opencv::core::{Mat, Vec4b, Vector};
use opencv::imgcodecs;
use opencv::imgproc;

#[derive(Debug, thiserror::Error)]
pub enum ScreenshotError {
    #[error("{path}: {message}")]
    Png { path: PathBuf, message: String },
    #[error("the screenshot is empty")]
    Empty,
}

/// Writes `image` (RGBA) as PNG at `path`, cropped to `crop` in pixels when given.
pub fn write_png(image: &ColorImage, crop: Option<Rect>, path: &Path) -> Result<(), ScreenshotError> {
    let png_err = |message: String| ScreenshotError::Png { path: path.to_path_buf(), message };
    let [width, height] = image.size;
    let region =
        crop.unwrap_or(Rect::from_min_max(eframe::egui::Pos2::ZERO, eframe::egui::pos2(width as f32, height as f32)));
    let x0 = (region.min.x.max(0.0) as usize).min(width);
    let y0 = (region.min.y.max(0.0) as usize).min(height);
    let x1 = (region.max.x.max(0.0) as usize).min(width);
    let y1 = (region.max.y.max(0.0) as usize).min(height);
    if x1 <= x0 || y1 <= y0 {
        return Err(ScreenshotError::Empty);
    }
    let mut rgba = Vec::with_capacity((x1 - x0) * (y1 - y0));
    for y in y0..y1 {
        for pixel in &image.pixels[y * width + x0..y * width + x1] {
            rgba.push(Vec4b::from(pixel.to_array()));
        }
    }
    let rgba_mat =
        Mat::new_rows_cols_with_data((y1 - y0) as i32, (x1 - x0) as i32, &rgba).map_err(|e| png_err(e.message))?;
    let mut bgr = Mat::default();
    imgproc::cvt_color_def(&rgba_mat, &mut bgr, imgproc::COLOR_RGBA2BGR).map_err(|e| png_err(e.message))?;
    let mut png = Vector::<u8>::new();
    let encoded = imgcodecs::imencode(".png", &bgr, &mut png, &Vector::new()).map_err(|e| png_err(e.message))?;
    if !encoded {
        return Err(png_err("OpenCV could not encode the PNG".into()));
    }
    // Atomic, like every other file Glimpse writes.
    crate::files::write_atomic(path, png.as_slice()).map_err(|e| png_err(e.reason.to_string()))
}

/// Where the scripted run is.
pub enum ScriptStage {
    WaitingForAnalysis,
    /// Seeked to `frame`; screenshot once it has been on screen for a few frames.
    Seeking {
        frame: u64,
        frames_shown: u32,
    },
    /// Screenshot requested; the image comes back over the channel.
    Requested,
    Done,
}

pub struct ScreenshotScript {
    pub dir: PathBuf,
    pub exit_after: bool,
    pub stage: ScriptStage,
    pub images: crossbeam_channel::Receiver<Arc<ColorImage>>,
    pub image_sender: crossbeam_channel::Sender<Arc<ColorImage>>,
    /// One shot half-way through the analysis, proof that results stream in.
    pub midway_requested: bool,
    pub midway_images: crossbeam_channel::Receiver<Arc<ColorImage>>,
    pub midway_sender: crossbeam_channel::Sender<Arc<ColorImage>>,
    pub written: Vec<PathBuf>,
}

impl ScreenshotScript {
    /// Asks, once, for the extra shot (half-way through an analysis, or of
    /// the live view).
    pub fn request_extra(&mut self, ctx: &eframe::egui::Context) {
        if self.midway_requested {
            return;
        }
        self.midway_requested = true;
        let sender = self.midway_sender.clone();
        ctx.request_screenshot(move |image| {
            let _ = sender.send(image);
        });
    }

    /// Writes the extra shot as `name` once it has come back; says whether
    /// it had, and what went wrong writing it.
    pub fn write_extra(&mut self, name: &str) -> Option<Result<(), ScreenshotError>> {
        let image = self.midway_images.try_recv().ok()?;
        let path = self.dir.join(name);
        let result = write_png(&image, None, &path);
        if result.is_ok() {
            self.written.push(path);
        }
        Some(result)
    }

    pub fn new(dir: PathBuf, exit_after: bool) -> Self {
        let (image_sender, images) = crossbeam_channel::bounded(1);
        let (midway_sender, midway_images) = crossbeam_channel::bounded(1);
        Self {
            dir,
            exit_after,
            stage: ScriptStage::WaitingForAnalysis,
            images,
            image_sender,
            midway_requested: false,
            midway_images,
            midway_sender,
            written: Vec::new(),
        }
    }
}
