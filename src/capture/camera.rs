//! Webcams through nokhwa (V4L2 on Linux). Frames are decoded with OpenCV
//! (MJPEG, YUYV, NV12, grey, RGB), stamped with a monotonic clock at arrival
//! (V4L2 buffers carry no usable wall time through nokhwa), and the rate is
//! measured from those stamps.
use std::time::Instant;

use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution,
};
use nokhwa::{query, Camera};
use opencv::core::{Mat, MatTraitConst, Vector, CV_8UC1, CV_8UC2, CV_8UC3};
use opencv::{imgcodecs, imgproc};
use serde::{Deserialize, Serialize};

use super::{CaptureError, Frame, SourceInfo, SourceKind};

/// A camera the system lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CameraDevice {
    pub index: u32,
    pub name: String,
    pub description: String,
}

/// What to ask a camera for; it gets the closest mode it has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CameraRequest {
    pub index: u32,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// MJPEG reaches 30 fps at resolutions where raw YUYV cannot on USB 2.
    pub prefer_mjpeg: bool,
}

impl Default for CameraRequest {
    fn default() -> Self {
        Self { index: 0, width: 640, height: 480, fps: 30, prefer_mjpeg: true }
    }
}

fn camera_error(index: u32) -> impl Fn(nokhwa::NokhwaError) -> CaptureError {
    move |source| CaptureError::CameraBackend { index, source }
}

/// Why camera bytes did not become a picture.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not the frame their format and size promise.
    #[error("{0}")]
    Invalid(String),
    #[error("OpenCV")]
    OpenCv(#[from] opencv::Error),
}

/// The cameras the system lists (none is not an error).
pub fn list_cameras() -> Result<Vec<CameraDevice>, CaptureError> {
    let found = query(ApiBackend::Auto).map_err(camera_error(0))?;
    Ok(found
        .into_iter()
        .filter_map(|info| match info.index() {
            CameraIndex::Index(index) => Some(CameraDevice {
                index: *index,
                name: info.human_name(),
                description: info.description().to_string(),
            }),
            CameraIndex::String(_) => None,
        })
        .collect())
}

/// An open camera stream. It is not `Send` (the backend is not): open it
/// on the thread that reads it (see `LiveFeed::start`).
pub struct CameraSource {
    camera: Camera,
    info: SourceInfo,
    index: u32,
    started: Instant,
    next_index: u64,
}

impl CameraSource {
    pub fn open(request: &CameraRequest) -> Result<Self, CaptureError> {
        let format = if request.prefer_mjpeg { FrameFormat::MJPEG } else { FrameFormat::YUYV };
        let wanted = CameraFormat::new(Resolution::new(request.width, request.height), format, request.fps);
        let decodable = [
            FrameFormat::MJPEG,
            FrameFormat::YUYV,
            FrameFormat::NV12,
            FrameFormat::GRAY,
            FrameFormat::RAWRGB,
            FrameFormat::RAWBGR,
        ];
        let requested = RequestedFormat::with_formats(RequestedFormatType::Closest(wanted), &decodable);
        let mut camera =
            Camera::new(CameraIndex::Index(request.index), requested).map_err(camera_error(request.index))?;
        camera.open_stream().map_err(camera_error(request.index))?;
        let format = camera.camera_format();
        let info = SourceInfo {
            path: format!("camera:{}", request.index).into(),
            kind: SourceKind::Camera,
            width: format.resolution().width() as i32,
            height: format.resolution().height() as i32,
            nominal_fps: f64::from(format.frame_rate()),
            frame_count: None,
        };
        Ok(Self { camera, info, index: request.index, started: Instant::now(), next_index: 0 })
    }

    pub fn info(&self) -> &SourceInfo {
        &self.info
    }

    /// The next frame; an unplugged camera is an error naming it.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        let buffer = self.camera.frame().map_err(camera_error(self.index))?;
        let timestamp_s = self.started.elapsed().as_secs_f64();
        let resolution = buffer.resolution();
        let image = decode(buffer.buffer(), buffer.source_frame_format(), resolution.width(), resolution.height())
            .map_err(|source| CaptureError::CameraFrame { index: self.index, source })?;
        let index = self.next_index;
        self.next_index += 1;
        Ok(Some(Frame { index, timestamp_s, image }))
    }
}

impl Drop for CameraSource {
    fn drop(&mut self) {
        // Frees the device for the next session; nothing to do if it is gone.
        let _ = self.camera.stop_stream();
    }
}

/// Camera bytes → BGR 8-bit.
pub fn decode(bytes: &[u8], format: FrameFormat, width: u32, height: u32) -> Result<Mat, DecodeError> {
    let (w, h) = (width as i32, height as i32);
    let expect = |len: usize| {
        if bytes.len() < len {
            Err(DecodeError::Invalid(format!(
                "a {width}x{height} {format} frame needs {len} bytes, got {}",
                bytes.len()
            )))
        } else {
            Ok(())
        }
    };
    let raw = |channels: i32, rows: i32| -> Result<Mat, DecodeError> {
        let typ = match channels {
            1 => CV_8UC1,
            2 => CV_8UC2,
            _ => CV_8UC3,
        };
        let flat = Mat::from_slice(bytes)?;
        let shaped = flat.reshape(channels, rows)?;
        let mut owned = Mat::default();
        shaped.copy_to(&mut owned)?;
        if owned.typ() != typ {
            return Err(DecodeError::Invalid(format!("unexpected pixel layout for {format}")));
        }
        Ok(owned)
    };
    let convert = |src: &Mat, code: i32| -> Result<Mat, DecodeError> {
        let mut out = Mat::default();
        imgproc::cvt_color_def(src, &mut out, code)?;
        Ok(out)
    };
    match format {
        FrameFormat::MJPEG => {
            let image = imgcodecs::imdecode(&Vector::<u8>::from_slice(bytes), imgcodecs::IMREAD_COLOR)?;
            if image.empty() {
                return Err(DecodeError::Invalid("an MJPEG frame that does not decode".into()));
            }
            Ok(image)
        }
        FrameFormat::YUYV => {
            expect((w * h * 2) as usize)?;
            convert(&raw(2, h)?, imgproc::COLOR_YUV2BGR_YUYV)
        }
        FrameFormat::NV12 => {
            expect((w * h * 3 / 2) as usize)?;
            convert(&raw(1, h * 3 / 2)?, imgproc::COLOR_YUV2BGR_NV12)
        }
        FrameFormat::GRAY => {
            expect((w * h) as usize)?;
            convert(&raw(1, h)?, imgproc::COLOR_GRAY2BGR)
        }
        FrameFormat::RAWRGB => {
            expect((w * h * 3) as usize)?;
            convert(&raw(3, h)?, imgproc::COLOR_RGB2BGR)
        }
        FrameFormat::RAWBGR => {
            expect((w * h * 3) as usize)?;
            raw(3, h)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_formats_decode_to_bgr() {
        // 4x2 YUYV of mid grey: Y = 128, U = V = 128.
        let yuyv = vec![128u8; 4 * 2 * 2];
        let bgr = decode(&yuyv, FrameFormat::YUYV, 4, 2).expect("yuyv");
        assert_eq!((bgr.cols(), bgr.rows(), bgr.typ()), (4, 2, CV_8UC3));
        let px = *bgr.at_2d::<opencv::core::Vec3b>(1, 3).expect("pixel");
        assert!(px.iter().all(|&c| (126..=130).contains(&c)), "{px:?}");
        // RGB red becomes BGR (0, 0, 255).
        let rgb: Vec<u8> = (0..6).flat_map(|_| [255u8, 0, 0]).collect();
        let bgr = decode(&rgb, FrameFormat::RAWRGB, 3, 2).expect("rgb");
        assert_eq!(*bgr.at_2d::<opencv::core::Vec3b>(0, 0).expect("pixel"), opencv::core::Vec3b::from([0, 0, 255]));
        let grey = decode(&[7u8; 6], FrameFormat::GRAY, 3, 2).expect("grey");
        assert_eq!(*grey.at_2d::<opencv::core::Vec3b>(1, 2).expect("pixel"), opencv::core::Vec3b::from([7, 7, 7]));
    }

    #[test]
    fn short_or_corrupt_frames_are_errors_not_panics() {
        let err = decode(&[0u8; 10], FrameFormat::YUYV, 640, 480).expect_err("short").to_string();
        assert!(err.contains("needs 614400 bytes, got 10"), "{err}");
        assert!(decode(b"not a jpeg", FrameFormat::MJPEG, 640, 480).is_err());
    }

    #[test]
    fn a_missing_camera_is_a_clear_error() {
        // The test machines have no camera; a device number no machine has
        // must fail the same way everywhere.
        let request = CameraRequest { index: 97, ..CameraRequest::default() };
        let err =
            CameraSource::open(&request).err().map(|e| format!("{:#}", anyhow::Error::new(e))).unwrap_or_default();
        assert!(err.starts_with("camera 97: "), "{err}");
        assert!(list_cameras().is_ok(), "listing cameras never fails because none exist");
    }
}
