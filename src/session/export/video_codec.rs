//! The annotated video's codec: H.264 where the system's FFmpeg (through
//! OpenCV) has an encoder for it, since browsers and slide software do not
//! play MPEG-4 Part 2; MPEG-4 Part 2 otherwise; Motion JPEG in .avi.
use std::fmt;
use std::path::Path;

use opencv::core::Size;
use opencv::videoio::{self, VideoWriter, VideoWriterTraitConst};

use super::ExportError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoCodec {
    H264,
    Mpeg4Part2,
    MotionJpeg,
}

impl VideoCodec {
    pub fn name(self) -> &'static str {
        match self {
            Self::H264 => "H.264",
            Self::Mpeg4Part2 => "MPEG-4 Part 2",
            Self::MotionJpeg => "Motion JPEG",
        }
    }

    /// The fourccs that ask OpenCV for this codec, in the order tried:
    /// builds differ in which H.264 tag their FFmpeg muxer accepts.
    fn fourccs(self) -> &'static [[char; 4]] {
        match self {
            Self::H264 => &[['a', 'v', 'c', '1'], ['H', '2', '6', '4'], ['X', '2', '6', '4']],
            Self::Mpeg4Part2 => &[['m', 'p', '4', 'v']],
            Self::MotionJpeg => &[['M', 'J', 'P', 'G']],
        }
    }

    /// H.264 goes through FFmpeg by name (no other OpenCV backend has
    /// it); the others take whichever backend OpenCV picks, as before.
    fn backend(self) -> i32 {
        match self {
            Self::H264 => videoio::CAP_FFMPEG,
            Self::Mpeg4Part2 | Self::MotionJpeg => videoio::CAP_ANY,
        }
    }
}

impl fmt::Display for VideoCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The codecs tried for `path`'s container, best first.
pub fn codecs_for(path: &Path) -> Result<&'static [VideoCodec], ExportError> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
    match ext.as_str() {
        "mp4" | "m4v" | "mov" | "mkv" => Ok(&[VideoCodec::H264, VideoCodec::Mpeg4Part2]),
        "avi" => Ok(&[VideoCodec::MotionJpeg]),
        _ => Err(ExportError::Video {
            path: path.to_path_buf(),
            problem: format!("unsupported video extension {ext:?} (use .mp4 or .avi)"),
        }),
    }
}

/// A writer at `file` (the temporary file behind `target`) with the first
/// of `target`'s codecs whose encoder opens at this size: a missing
/// encoder leaves the writer closed, and the next one is tried.
pub fn open_writer(file: &Path, target: &Path, fps: f64, size: Size) -> Result<(VideoWriter, VideoCodec), ExportError> {
    let codecs = codecs_for(target)?;
    let opencv_err = |source| ExportError::VideoOpenCv { path: target.to_path_buf(), source };
    let name = file.to_str().ok_or_else(|| ExportError::Video {
        path: target.to_path_buf(),
        problem: "the path is not valid UTF-8".into(),
    })?;
    for &codec in codecs {
        for &[a, b, c, d] in codec.fourccs() {
            let fourcc = VideoWriter::fourcc(a, b, c, d).map_err(opencv_err)?;
            // An encoder OpenCV cannot open is an error from some builds
            // and a closed writer from others: both mean "try the next".
            let Ok(writer) = VideoWriter::new_with_backend(name, codec.backend(), fourcc, fps, size, true) else {
                continue;
            };
            if writer.is_opened().map_err(opencv_err)? {
                return Ok((writer, codec));
            }
        }
    }
    let tried: Vec<&str> = codecs.iter().map(|c| c.name()).collect();
    Err(ExportError::Video {
        path: target.to_path_buf(),
        problem: format!(
            "OpenCV cannot open a video writer for it at {}x{} (tried {})",
            size.width,
            size.height,
            tried.join(", ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use opencv::core::{Mat, Rect, Scalar, CV_8UC3};
    use opencv::imgproc;
    use opencv::prelude::*;
    use opencv::videoio::VideoCapture;

    use super::*;
    use crate::capture::SourceKind;
    use crate::face::FaceBox;
    use crate::session::export::{write_export, ExportFormat};
    use crate::session::model::{FaceFrame, FrameRecord, Session, SourceMeta};

    const FRAMES: u64 = 12;
    const RATE: f64 = 25.0;

    /// A grey MJPEG clip of `size` with a lighter square where the face is
    /// (through FFmpeg, which keeps odd sizes as they are).
    fn write_source(path: &Path, size: Size, face: Rect) {
        let fourcc = VideoWriter::fourcc('M', 'J', 'P', 'G').expect("fourcc");
        let name = path.to_str().expect("utf-8");
        let mut writer =
            VideoWriter::new_with_backend(name, videoio::CAP_FFMPEG, fourcc, RATE, size, true).expect("writer");
        assert!(writer.is_opened().expect("opened"), "no MJPG writer");
        for _ in 0..FRAMES {
            let mut image =
                Mat::new_size_with_default(size, CV_8UC3, Scalar::new(90.0, 100.0, 110.0, 0.0)).expect("mat");
            imgproc::rectangle(&mut image, face, Scalar::new(150.0, 160.0, 170.0, 0.0), -1, imgproc::LINE_8, 0)
                .expect("draw");
            writer.write(&image).expect("write");
        }
        writer.release().expect("release");
    }

    fn session_of(clip: &Path, size: Size, face: Rect) -> Session {
        let bbox = FaceBox { x: face.x as f32, y: face.y as f32, width: face.width as f32, height: face.height as f32 };
        let frames = (0..FRAMES)
            .map(|index| FrameRecord {
                index,
                timestamp_s: index as f64 / RATE,
                faces: vec![FaceFrame {
                    face_id: 1,
                    bbox,
                    landmarks: [[0.0; 2]; 5],
                    landmarks68: None,
                    confidence: 0.99,
                    detected: true,
                    motion: None,
                    moving: None,
                    probabilities: None,
                }],
            })
            .collect();
        Session {
            source: SourceMeta {
                path: clip.display().to_string(),
                kind: SourceKind::VideoFile,
                width: size.width,
                height: size.height,
                nominal_fps: RATE,
                measured_fps: RATE,
                frame_count: FRAMES,
                duration_s: FRAMES as f64 / RATE,
            },
            class_names: vec!["negative".into(), "positive".into(), "surprise".into()],
            frames,
            complete: true,
            ..Session::default()
        }
    }

    /// What the FFmpeg backend reads back: the stream's codec as a fourcc.
    fn fourcc_read_back(path: &Path) -> String {
        let capture = VideoCapture::from_file(path.to_str().expect("utf-8"), videoio::CAP_FFMPEG).expect("open");
        assert!(capture.is_opened().expect("opened"), "cannot reopen {}", path.display());
        let code = capture.get(videoio::CAP_PROP_FOURCC).expect("fourcc") as u32;
        (0..4).map(|i| char::from(((code >> (8 * i)) & 0xff) as u8)).collect()
    }

    /// Debian's OpenCV reaches libx264 through FFmpeg: the annotated MP4
    /// is H.264, says so, and reads back as H.264.
    #[test]
    fn the_annotated_mp4_is_h264_and_says_so() {
        let dir = crate::files::scratch_dir("video-h264");
        let (size, face) = (Size::new(640, 360), Rect::new(40, 160, 140, 140));
        let clip = dir.join("clip.avi");
        write_source(&clip, size, face);
        let out = dir.join("clip.annotated.mp4");
        let written = write_export(&session_of(&clip, size, face), ExportFormat::Video, &out).expect("export");
        assert_eq!(written.codec, Some(VideoCodec::H264));
        assert_eq!(written.to_string(), format!("{} (H.264)", out.display()));
        let fourcc = fourcc_read_back(&out);
        assert!(["avc1", "h264", "H264"].contains(&fourcc.as_str()), "read back as {fourcc:?}");
        let leftovers = crate::files::temporary_files_in(&dir);
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    /// An odd-sized source (an image folder keeps any size) is H.264 too:
    /// OpenCV pads it for the encoder.
    #[test]
    fn an_odd_sized_video_is_written_and_its_codec_said() {
        let dir = crate::files::scratch_dir("video-odd");
        let (size, face) = (Size::new(321, 241), Rect::new(100, 60, 100, 100));
        let frames = dir.join("frames");
        std::fs::create_dir_all(&frames).expect("folder");
        for i in 0..FRAMES {
            let image = Mat::new_size_with_default(size, CV_8UC3, Scalar::all(100.0)).expect("mat");
            let name = frames.join(format!("{i:03}.png"));
            opencv::imgcodecs::imwrite_def(name.to_str().expect("utf-8"), &image).expect("png");
        }
        let mut session = session_of(&frames, size, face);
        session.source.kind = SourceKind::ImageFolder;
        let out = dir.join("odd.annotated.mp4");
        let written = write_export(&session, ExportFormat::Video, &out).expect("export");
        assert_eq!(written.codec, Some(VideoCodec::H264));
        assert_eq!(fourcc_read_back(&out), "avc1");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn each_container_has_its_codecs_and_others_are_refused() {
        assert_eq!(codecs_for(Path::new("a.MP4")).expect("mp4"), [VideoCodec::H264, VideoCodec::Mpeg4Part2]);
        assert_eq!(codecs_for(Path::new("a.avi")).expect("avi"), [VideoCodec::MotionJpeg]);
        let refused = codecs_for(Path::new("a.gif")).expect_err("gif").to_string();
        assert!(refused.contains("unsupported video extension \"gif\""), "{refused}");
    }

    /// The legend is in the picture: the corner away from the face is
    /// darkened behind its text; the corner under the face is not touched.
    #[test]
    fn the_annotated_video_carries_the_legend_in_the_corner_the_face_leaves_free() {
        let dir = crate::files::scratch_dir("video-legend");
        // The face low on the left: the legend goes bottom right.
        let (size, face) = (Size::new(640, 360), Rect::new(20, 200, 150, 150));
        let clip = dir.join("clip.avi");
        write_source(&clip, size, face);
        let out = dir.join("clip.annotated.mp4");
        write_export(&session_of(&clip, size, face), ExportFormat::Video, &out).expect("export");
        let mut capture = VideoCapture::from_file(out.to_str().expect("utf-8"), videoio::CAP_FFMPEG).expect("open");
        let mut frame = Mat::default();
        assert!(capture.read(&mut frame).expect("read"), "no frame");
        // The share of pixels darkened well below the source's grey (100).
        let dark_share = |r: Rect| {
            let mut dark = 0;
            for y in r.y..r.y + r.height {
                for x in r.x..r.x + r.width {
                    let p = frame.at_2d::<opencv::core::Vec3b>(y, x).expect("pixel");
                    dark += i32::from((i32::from(p[0]) + i32::from(p[1]) + i32::from(p[2])) / 3 < 60);
                }
            }
            f64::from(dark) / f64::from(r.area())
        };
        let legend_corner = dark_share(Rect::new(640 - 60, 360 - 24, 50, 14));
        let free_of_legend = dark_share(Rect::new(200, 360 - 24, 50, 14));
        assert!(legend_corner > 0.3, "no legend bottom right: {:.0} % dark", legend_corner * 100.0);
        assert_eq!(free_of_legend, 0.0, "darkened away from the legend");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
