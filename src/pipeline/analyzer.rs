//! One analysis, fed a frame at a time. Owns the model (tch tensors are not
//! `Sync`: one analysis thread owns it), the detector, the tracker and a
//! short buffer of grey frames (the flow needs frames up to ~2 s back), so
//! its memory does not grow with the length of the video.
use std::collections::{BTreeMap, VecDeque};

use opencv::core::{Mat, MatTraitConst, Size};
use opencv::imgproc;

use super::cuts::{CutDetector, CutOptions};
use super::faces::{FaceFinder, Found};
use super::mol_event::{apex_position, mol_plane, run_mol, sample_indices, InputToImage, MolEvent};
use super::{AnalysisOptions, Classifier, PipelineError, Stage, StageTimings};
use crate::capture::{Frame, SourceInfo};
use crate::face::{
    canonical_landmarks, FaceDescriptor, FaceError, FaceTracker, Landmarks, Similarity, TrackedFace, TrackerOptions,
};
use crate::model::epir_model::{argmax, Prediction};
use crate::model::mol::MolModel;
use crate::model::EpirModel;
use crate::motion::{
    au_hints, epir_input, measure_regions, DisFlow, FaceRegions, FlowField, MotionError, RegionDisplacement,
    RegionMotion, RegionMotionError, TvL1Flow, EPIR_SIDE,
};
use crate::session::{
    DeltaTracker, Event, FaceFrame, FaceSummary, FrameRecord, Session, SessionDelta, SourceMeta, SESSION_FORMAT_VERSION,
};
use crate::spotting::{MotionSample, SpottedInterval, Spotter, TwoSidedSignal};

/// Reference gap of the per-frame class track ("what changed over the last
/// 0.4 s"), within the 0.3–0.5 s a micro-expression's onset phase spans.
const TRACK_REFERENCE_S: f64 = 0.4;

/// Spotting-crop pixels this close to the frame's edge do not count: DIS
/// matches 8-px patches and the regions smooth over 5 px, so flow there
/// still sees the replicated border.
const EDGE_MARGIN_CROP_PX: f64 = 6.0;

/// Side of the face crop the region motion's TV-L1 flow is taken on: about
/// twice the classification crop's scale, so that a face at its usual size
/// in the frame loses little of a sub-pixel displacement to the resampling.
const REGION_FLOW_SIDE: i32 = 224;

/// Region motion is measured from at least this long before the apex: a
/// micro-expression's onset phase lasts up to about a quarter second (the
/// synthetic clips' rises last 0.10–0.26 s). From the spotted onset alone,
/// 2 of 12 strong synthetic events measured under 0.7 % IOD where their
/// warps moved 1.2–2 %: the onset had been placed a frame before the apex,
/// or the apex a frame after the peak; from here all 12 measure 2.0–2.9 %.
const REGION_RISE_S: f64 = 0.25;

/// Frames between hand-backs of freed heap pages (about half a minute of
/// video; one costs a few milliseconds).
const RELEASE_MEMORY_EVERY: u64 = 1024;

/// Gives freed heap pages back to the system. Frame buffers (300-900 KB)
/// come and go thirty times a second between the session's small records,
/// which stay; without this the freed pages between them stay resident and
/// a 1-hour analysis grew to 716 MiB by 44,000 frames instead of staying
/// near 510 (reports/long-run-memory*.csv).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

struct BufferedFrame {
    index: u64,
    timestamp_s: f64,
    grey: Mat,
}

/// Spotting state of one tracked face.
struct FaceState {
    landmarks: Landmarks,
    /// Image → spotting crop, fixed for an alignment window.
    spot_crop: Similarity,
    /// Image → classification crop, fitted with `spot_crop`.
    classify_crop: Similarity,
    /// Pixels of the spotting crop that show the frame (`None`: all).
    spot_inside: Option<Vec<bool>>,
    fitted_at_s: f64,
    signal: TwoSidedSignal,
    spotter: Spotter,
    last_seen_s: f64,
    last_track_s: f64,
    /// Aligned spotting crops (as f32) of recent frames, warped with
    /// `spot_crop`, so a frame in several means is warped once.
    spot_crops: VecDeque<(u64, Mat)>,
}

pub struct Analyzer {
    options: AnalysisOptions,
    model: EpirModel,
    /// MOL-lite, when it classifies events too (`options.classifier`);
    /// owned by this thread like EPIR.
    mol: Option<MolModel>,
    /// Taken out by a caller that runs detection on its own thread.
    finder: Option<FaceFinder>,
    tracker: FaceTracker,
    /// Shot cuts end every track and restart spotting.
    cuts: CutDetector,
    dis: DisFlow,
    /// A cheaper DIS for the per-frame class track (coarse by nature).
    track_dis: DisFlow,
    tvl1: TvL1Flow,
    /// Regions of the canonical spotting crop (the same for every face,
    /// placed by its five points, the mesh's when it ran). Placing them on
    /// each face's 68 points instead lowered recall on the synthetic clips
    /// from 48 to 42 of 60 events (`make eval-spotting`, 2026-11-28).
    regions: FaceRegions,
    buffer: VecDeque<BufferedFrame>,
    buffer_s: f64,
    /// Spotted intervals become events (false for a clip that is one
    /// event as a whole: see `treat_as_one_event`).
    spot_events: bool,
    faces: BTreeMap<u32, FaceState>,
    session: Session,
    /// What changed in `session` since the last `take_delta`.
    changes: DeltaTracker,
    /// Track inputs (frame, face, input) waiting for one batched model call.
    pending_track: Vec<(u64, u32, Vec<f32>)>,
    track_batch: usize,
    next_event_id: u32,
    pub timings: StageTimings,
}

impl Analyzer {
    pub fn new(options: AnalysisOptions, source: &SourceInfo, device: tch::Device) -> Result<Self, PipelineError> {
        let weights = options.weights_path()?;
        let model = EpirModel::load(&weights, device)?;
        if model.config.apex_stream {
            return Err(PipelineError::Input {
                path: weights,
                problem: "these weights read an apex crop beside the flow (--apex-stream, a research recipe); the analysis gives the flow alone".into(),
            });
        }
        let mol = match options.classifier.runs_mol() {
            true => {
                let path = options.mol_weights_path()?;
                let mol = MolModel::load(&path, device)?;
                if mol.config.class_names != model.config.class_names {
                    return Err(PipelineError::Input {
                        path,
                        problem: format!(
                            "MOL-lite's classes {:?} differ from EPIR's {:?}",
                            mol.config.class_names, model.config.class_names
                        ),
                    });
                }
                Some((path, mol))
            }
            false => None,
        };
        // The session's settings name the weights files actually used.
        let options = AnalysisOptions {
            weights: Some(weights),
            mol_weights: mol.as_ref().map(|(path, _)| path.clone()).or(options.mol_weights.clone()),
            ..options
        };
        let mol = mol.map(|(_, model)| model);
        let finder = FaceFinder::new(&options, device)?;
        let side = options.spotting_side;
        let regions = FaceRegions::from_landmarks(&canonical_landmarks(side as f32), side as usize, side as usize);
        let s = &options.spotting;
        // Oldest frame still needed: an event's onset, reported up to
        // L + duration + slack (+ the baseline's look-ahead) after it
        // happened, plus the onset lookback.
        let buffer_s =
            s.reference_gap_s + s.max_duration_s + 2.0 * s.slack_s + s.max_onset_to_apex_s + s.lookahead_s() + 0.5;
        let session = Session {
            format_version: SESSION_FORMAT_VERSION,
            glimpse_version: env!("CARGO_PKG_VERSION").to_string(),
            created_unix_s: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
            source: SourceMeta {
                path: source.path.display().to_string(),
                kind: source.kind,
                width: source.width,
                height: source.height,
                nominal_fps: source.nominal_fps,
                ..SourceMeta::default()
            },
            class_names: model.config.class_names.clone(),
            settings: options.describe(),
            ..Session::default()
        };
        Ok(Self {
            model,
            mol,
            finder: Some(finder),
            tracker: FaceTracker::new(TrackerOptions::default()),
            cuts: CutDetector::new(CutOptions::default()),
            dis: DisFlow::new(true)?,
            track_dis: DisFlow::new(false)?,
            tvl1: TvL1Flow::new()?,
            regions,
            buffer: VecDeque::new(),
            buffer_s,
            spot_events: true,
            faces: BTreeMap::new(),
            session,
            changes: DeltaTracker::default(),
            pending_track: Vec::new(),
            track_batch: options.track_batch_for(device),
            next_event_id: 0,
            timings: StageTimings::default(),
            options,
        })
    }

    /// For a clip that is one event (`pipeline::clip`): every frame stays
    /// buffered, so the event's onset can be any of them, and the spotter's
    /// own intervals are not events (the caller adds the one event).
    pub(super) fn treat_as_one_event(&mut self) {
        self.buffer_s = f64::INFINITY;
        self.spot_events = false;
    }

    /// The spotter's region motion of a face from frame `from` to frame
    /// `to` (DIS on the face's spotting crop, the head's own motion taken
    /// out), or `None` when the face is not tracked or a frame has left
    /// the buffer.
    pub(super) fn motion_between(
        &mut self,
        face_id: u32,
        from: u64,
        to: u64,
    ) -> Result<Option<RegionMotion>, PipelineError> {
        let Some(state) = self.faces.get(&face_id) else { return Ok(None) };
        let find = |index: u64| self.buffer.iter().find(|f| f.index == index);
        let (Some(a), Some(b)) = (find(from), find(to)) else { return Ok(None) };
        let side = self.options.spotting_side;
        let (a, b) = (state.spot_crop.warp(&a.grey, side)?, state.spot_crop.warp(&b.grey, side)?);
        let flow = self.dis.calc(&a, &b)?;
        Ok(Some(self.regions.motion(&flow, state.spot_inside.as_deref())))
    }

    /// The session so far (events appear about a second after they end).
    pub fn session(&self) -> &Session {
        &self.session
    }

    pub fn device(&self) -> tch::Device {
        self.model.device
    }

    /// What changed in the session since the last call: a watcher that
    /// applies every delta to its copy holds the same session.
    pub fn take_delta(&mut self) -> SessionDelta {
        self.changes.take(&self.session)
    }

    /// Hands the detection stage to a caller that runs it on another
    /// thread; it then feeds `push_detected`.
    pub fn take_face_finder(&mut self) -> Option<FaceFinder> {
        self.finder.take()
    }

    /// Analyses one frame, running the detector when it is due; frames
    /// must come in order.
    pub fn push(&mut self, frame: &Frame) -> Result<(), PipelineError> {
        let found = match &mut self.finder {
            Some(finder) => finder.find(frame)?,
            None => Found::default(),
        };
        self.push_detected(frame, &found)
    }

    /// Analyses one frame with the detector's output for it (`None` when
    /// the detector did not run on it; tracks hold their place).
    pub fn push_detected(&mut self, frame: &Frame, found: &Found) -> Result<(), PipelineError> {
        let t = frame.timestamp_s;
        self.timings.add(Stage::Detect, found.detect_ms);
        self.timings.add(Stage::Mesh, found.mesh_ms);
        let detections = found.detections.as_deref();
        let mut grey = Mat::default();
        self.timings
            .time(Stage::Align, || imgproc::cvt_color_def(&frame.image, &mut grey, imgproc::COLOR_BGR2GRAY))
            .map_err(|e| self.opencv_error(e))?;
        let change = self.timings.time(Stage::Align, || self.cuts.push(&grey, t)).map_err(|e| self.opencv_error(e))?;
        if change.cut {
            self.start_new_shot()?;
        }
        let tracked: Vec<TrackedFace> = match detections {
            Some(detections) => {
                let appearances = self.timings.time(Stage::Align, || {
                    detections
                        .iter()
                        .map(|d| FaceDescriptor::from_face(&grey, &d.landmarks))
                        .collect::<Result<Vec<_>, FaceError>>()
                })?;
                self.tracker.update_with_appearance(t, detections, &appearances)
            }
            None => self.tracker.hold(t),
        };

        self.buffer.push_back(BufferedFrame { index: frame.index, timestamp_s: t, grey });
        while self.buffer.front().is_some_and(|f| f.timestamp_s < t - self.buffer_s) {
            self.buffer.pop_front();
        }

        let mut record = FrameRecord { index: frame.index, timestamp_s: t, faces: Vec::with_capacity(tracked.len()) };
        for face in &tracked {
            let d = &face.detection;
            record.faces.push(FaceFrame {
                face_id: face.id,
                bbox: d.bbox,
                landmarks: d.landmarks,
                // Kept where the mesh ran (with the detector): between
                // detections they are the same points, and a 1-hour session
                // would otherwise hold 60 MB of copies.
                landmarks68: if face.fresh { d.landmarks68.clone() } else { None },
                confidence: d.confidence,
                detected: face.fresh,
                motion: None,
                moving: None,
                probabilities: None,
            });
            // The session's face list is the summary itself, kept in id
            // order (ids are issued in increasing order).
            let faces = &mut self.session.faces;
            let at = match faces.binary_search_by_key(&face.id, |f| f.id) {
                Ok(at) => at,
                Err(at) => {
                    faces.insert(at, FaceSummary { id: face.id, first_frame: frame.index, ..FaceSummary::default() });
                    at
                }
            };
            faces[at].last_frame = frame.index;
            faces[at].frames_present += 1;
        }
        self.session.frames.push(record);
        self.changes.frame_changed(self.session.frames.len() - 1);

        for face in &tracked {
            self.update_face(face, t)?;
            if let Some(input) = self.track_input(face.id, t)? {
                self.pending_track.push((frame.index, face.id, input));
            }
        }
        if self.pending_track.len() >= self.track_batch {
            self.classify_pending_track()?;
        }
        if frame.index % RELEASE_MEMORY_EVERY == RELEASE_MEMORY_EVERY - 1 {
            release_free_memory();
        }
        self.timings.end_frame();
        Ok(())
    }

    /// One model call for the waiting track inputs (the faces of this frame,
    /// or on a GPU the last `track_batch` of them); their probabilities go
    /// into the frames they were taken at.
    fn classify_pending_track(&mut self) -> Result<(), PipelineError> {
        if self.pending_track.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending_track);
        let started = std::time::Instant::now();
        let inputs: Vec<&[f32]> = pending.iter().map(|(_, _, x)| x.as_slice()).collect();
        let predictions = self.model.predict(&inputs)?;
        self.timings.add(Stage::Classify, started.elapsed().as_secs_f32() * 1e3);
        for ((index, face_id, _), prediction) in pending.iter().zip(predictions) {
            if let Some(f) = self.face_frame_mut(*index, *face_id) {
                f.probabilities = Some(prediction.probabilities);
            }
        }
        Ok(())
    }

    /// Ends the analysis: open candidates are judged, the session completed.
    pub fn finish(mut self) -> Result<Session, PipelineError> {
        self.classify_pending_track()?;
        let ids: Vec<u32> = self.faces.keys().copied().collect();
        for id in ids {
            self.flush_face(id)?;
        }
        self.session.events.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s).then(a.face_id.cmp(&b.face_id)));
        self.session.complete = true;
        Ok(self.session)
    }

    fn opencv_error(&self, e: opencv::Error) -> PipelineError {
        PipelineError::OpenCv { path: self.session.source.path.clone().into(), source: e }
    }

    fn face_frame_mut(&mut self, index: u64, face_id: u32) -> Option<&mut FaceFrame> {
        let position = self.session.frame_position(index)?;
        self.changes.frame_changed(position);
        self.session.frames.get_mut(position)?.faces.iter_mut().find(|f| f.face_id == face_id)
    }

    /// Spotting for one face in the newest frame.
    fn update_face(&mut self, face: &TrackedFace, t: f64) -> Result<(), PipelineError> {
        let gap = self.options.spotting.reference_gap_s;
        // A face that was away longer than the reference gap starts afresh.
        if self.faces.get(&face.id).is_some_and(|s| t - s.last_seen_s > gap) {
            self.flush_face(face.id)?;
            self.faces.remove(&face.id);
        }
        let landmarks = face.detection.landmarks;
        let frame_size = self.buffer.back().map_or((0, 0), |f| (f.grey.cols(), f.grey.rows()));
        let side = self.options.spotting_side;
        let inside = |crop: &Similarity| crop.inside_mask(frame_size.0, frame_size.1, side, EDGE_MARGIN_CROP_PX);
        let state = match self.faces.entry(face.id) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let Some((spot_crop, classify_crop)) = fit_crops(&landmarks, &self.options) else { return Ok(()) };
                e.insert(FaceState {
                    landmarks,
                    spot_crop,
                    classify_crop,
                    spot_inside: inside(&spot_crop),
                    fitted_at_s: t,
                    signal: TwoSidedSignal::new(gap),
                    spotter: Spotter::new(self.options.spotting.clone()),
                    last_seen_s: t,
                    last_track_s: f64::NEG_INFINITY,
                    spot_crops: VecDeque::new(),
                })
            }
        };
        state.last_seen_s = t;
        state.landmarks = landmarks;
        if t - state.fitted_at_s >= self.options.align_window_s {
            if let Some((spot, classify)) = fit_crops(&landmarks, &self.options) {
                state.spot_inside = inside(&spot);
                state.spot_crop = spot;
                state.spot_crops.clear();
                state.classify_crop = classify;
                state.fitted_at_s = t;
            }
        }
        // The sample stands for the centre of the newest `mean` frames, and
        // its reference for the same window a gap earlier.
        let half = self.options.spotting_frame_mean.max(1) / 2;
        let Some(current_at) = self.buffer.len().checked_sub(1 + half) else { return Ok(()) };
        let current = &self.buffer[current_at];
        let Some(reference_at) = self.buffer.iter().rposition(|f| f.timestamp_s <= current.timestamp_s - gap + 1e-9)
        else {
            return Ok(());
        };
        if reference_at < half {
            return Ok(());
        }
        let oldest = self.buffer[reference_at - half].index;
        state.spot_crops.retain(|(index, _)| *index >= oldest);
        let (buffer, spot_crop, crops) = (&self.buffer, state.spot_crop, &mut state.spot_crops);
        let (a, b) = self.timings.time(Stage::Align, || {
            Ok::<_, FaceError>((
                mean_crop(buffer, reference_at - half..=reference_at + half, &spot_crop, side, crops)?,
                mean_crop(buffer, current_at - half..=current_at + half, &spot_crop, side, crops)?,
            ))
        })?;
        let started = std::time::Instant::now();
        let flow = self.dis.calc(&a, &b)?;
        self.timings.add(Stage::Flow, started.elapsed().as_secs_f32() * 1e3);

        let started = std::time::Instant::now();
        let motion = self.regions.motion(&flow, state.spot_inside.as_deref());
        let sample = MotionSample {
            frame: current.index,
            timestamp_s: current.timestamp_s,
            expressive: motion.expressive(),
            eyes: motion.eyes,
            head: motion.head[0].hypot(motion.head[1]),
        };
        let Some(state) = self.faces.get_mut(&face.id) else { return Ok(()) };
        let ready = state.signal.push(sample);
        let mut intervals = Vec::new();
        // Judged against the baseline as it stood before the sample joined it.
        let mut moving = Vec::with_capacity(ready.len());
        for s in &ready {
            moving.push(state.spotter.is_moving(s));
            intervals.extend(state.spotter.push(*s));
        }
        self.timings.add(Stage::Spot, started.elapsed().as_secs_f32() * 1e3);
        for (s, moving) in ready.into_iter().zip(moving) {
            if let Some(f) = self.face_frame_mut(s.frame, face.id) {
                f.motion = Some(s.expressive);
                f.moving = moving;
            }
        }
        if self.spot_events {
            for interval in intervals {
                self.add_event(face.id, interval)?;
            }
        }
        Ok(())
    }

    /// A shot cut: every face's spotting ends with what it had before the
    /// cut (no event spans it), the frames of the old shot leave the buffer
    /// (no flow is taken across it, so spotting restarts with fresh
    /// baselines once the new shot has a reference gap of frames), and every
    /// track ends (an ID goes back only to a face that looks like it).
    fn start_new_shot(&mut self) -> Result<(), PipelineError> {
        let ids: Vec<u32> = self.faces.keys().copied().collect();
        for id in ids {
            self.flush_face(id)?;
        }
        self.faces.clear();
        self.buffer.clear();
        self.tracker.end_all();
        Ok(())
    }

    /// Flushes a face's signal and spotter (end of video, or the face left).
    /// The last reference gap of samples has no later frame to cancel the
    /// return echo with, so it is not spotted (and its motion stays unknown):
    /// a micro-expression needs 0.6 s of video after it to be found.
    fn flush_face(&mut self, id: u32) -> Result<(), PipelineError> {
        let Some(state) = self.faces.get_mut(&id) else { return Ok(()) };
        let _one_sided = state.signal.finish();
        let intervals = state.spotter.finish();
        if !self.spot_events {
            return Ok(());
        }
        for interval in intervals {
            self.add_event(id, interval)?;
        }
        Ok(())
    }

    /// Classifies an interval (spotted, or a clip's one event) from its
    /// onset→apex flow and adds it as an event.
    pub(super) fn add_event(&mut self, face_id: u32, interval: SpottedInterval) -> Result<(), PipelineError> {
        let started = std::time::Instant::now();
        let Some(state) = self.faces.get(&face_id) else { return Ok(()) };
        let crop = state.classify_crop;
        let spot_crop = state.spot_crop;
        let onset = self.buffer.iter().find(|f| f.index == interval.onset_frame);
        let apex = self.buffer.iter().find(|f| f.index == interval.apex_frame);
        let onset_points = self
            .session
            .frame_position(interval.onset_frame)
            .and_then(|position| self.session.landmarks68_at(position, face_id))
            .map(<[[f32; 2]]>::to_vec);
        let mut region_motion: Result<Vec<RegionDisplacement>, RegionMotionError> =
            Err(RegionMotionError::NoLandmarks68);
        let prediction: Option<Prediction> = match (onset, apex) {
            (Some(onset), Some(apex)) => {
                let tvl1 = &mut self.tvl1;
                // The onset and the frames either side of it (as far as
                // `classify_onset_jitter` reaches and the buffer holds,
                // never at or past the apex).
                let onsets: Vec<&BufferedFrame> = onset_neighbours(&self.buffer, onset, apex, self.options.classify_onset_jitter);
                let mut inputs = Vec::with_capacity(onsets.len());
                for from in &onsets {
                    let flow = classify_flow(&mut |a, b| tvl1.calc(a, b), &self.options, &crop, &from.grey, &apex.grey)?;
                    inputs.push(epir_input(&flow));
                }
                if let Some(points) = &onset_points {
                    // The spotter's onset is where its signal crossed the
                    // threshold, often a frame or two into the rise: the
                    // regions are measured from whichever is earlier, it or
                    // a micro-expression's longest rise before the apex.
                    let rise_start = frame_before(&self.buffer, apex.timestamp_s - REGION_RISE_S)
                        .filter(|f| f.index < onset.index)
                        .unwrap_or(onset);
                    region_motion =
                        region_motion_between(tvl1, &self.options, &spot_crop, &rise_start.grey, &apex.grey, points)?;
                }
                let inputs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
                mean_prediction(self.model.predict(&inputs)?)
            }
            // Older than the buffer: cannot happen with the buffer sized from
            // the spotting limits, but never worth a panic.
            _ => None,
        };
        let (region_motion, region_motion_note) = match region_motion {
            Ok(regions) => (regions, None),
            Err(why) => (Vec::new(), Some(why.to_string())),
        };
        let mol_event = match &self.mol {
            Some(mol) => {
                let mol_started = std::time::Instant::now();
                let out = mol_on_event(mol, &self.buffer, &crop, &self.options, &interval)?;
                self.timings.mol_event_ms.push(mol_started.elapsed().as_secs_f32() * 1e3);
                if out.is_none() {
                    self.session.warnings.push(format!(
                        "event at {:.3} s (face {face_id}): MOL-lite did not run, its frames had left the buffer",
                        interval.onset_s
                    ));
                }
                out
            }
            None => None,
        };
        let (rows, cols) = self.model.config.grids()[0];
        let id = self.next_event_id;
        self.next_event_id += 1;
        let epir_probabilities = match (&prediction, self.options.classifier) {
            (Some(p), Classifier::Mol | Classifier::Both) => p.probabilities.clone(),
            _ => Vec::new(),
        };
        let prediction = decide_class(prediction, mol_event.as_ref(), self.options.classifier);
        let (class, probabilities, attention) = match prediction {
            Some(p) => (p.class, p.probabilities, p.attention),
            None => {
                // Kept (it was spotted) but said plainly: no probabilities.
                self.session.warnings.push(format!(
                    "event at {:.3} s (face {face_id}) could not be classified: its onset frame had left the buffer",
                    interval.onset_s
                ));
                (0, Vec::new(), Vec::new())
            }
        };
        self.session.events.push(Event {
            id,
            face_id,
            onset_frame: interval.onset_frame,
            apex_frame: interval.apex_frame,
            offset_frame: interval.offset_frame,
            onset_s: interval.onset_s,
            apex_s: interval.apex_s,
            offset_s: interval.offset_s,
            class,
            probabilities,
            score: interval.score,
            attention,
            attention_rows: rows as usize,
            attention_cols: cols as usize,
            attention_crop: Some(crop.scaled(1.0 / f64::from(self.options.classify_side))),
            au_hints: au_hints(&region_motion),
            region_motion,
            region_motion_note,
            epir_probabilities,
            mol_probabilities: mol_event.as_ref().map(|m| m.probabilities.clone()).unwrap_or_default(),
            mol_landmarks: mol_event.as_ref().map(|m| m.landmarks.clone()).unwrap_or_default(),
            mol_flow: mol_event.map(|m| m.flow).unwrap_or_default(),
            ..Event::default()
        });
        self.timings.add(Stage::Classify, started.elapsed().as_secs_f32() * 1e3);
        Ok(())
    }

    /// The per-frame track's input for this face, when one is due.
    fn track_input(&mut self, face_id: u32, t: f64) -> Result<Option<Vec<f32>>, PipelineError> {
        let interval = if self.options.track_hz > 0.0 { 1.0 / self.options.track_hz } else { 0.0 };
        let Some(state) = self.faces.get(&face_id) else { return Ok(None) };
        if t - state.last_track_s < interval - 1e-6 {
            return Ok(None);
        }
        let crop = state.classify_crop;
        let (Some(reference), Some(current)) = (frame_before(&self.buffer, t - TRACK_REFERENCE_S), self.buffer.back())
        else {
            return Ok(None);
        };
        let started = std::time::Instant::now();
        let dis = &mut self.track_dis;
        let flow = classify_flow(&mut |a, b| dis.calc(a, b), &self.options, &crop, &reference.grey, &current.grey)?;
        let input = epir_input(&flow);
        self.timings.add(Stage::Classify, started.elapsed().as_secs_f32() * 1e3);
        if let Some(state) = self.faces.get_mut(&face_id) {
            state.last_track_s = t;
        }
        Ok(Some(input))
    }
}

/// MOL-lite on an event: its frames sampled from onset to offset (the
/// buffered frame nearest each sampled index), prepared as in training;
/// `None` when the buffer holds none of the event's frames.
fn mol_on_event(
    mol: &MolModel,
    buffer: &VecDeque<BufferedFrame>,
    crop: &Similarity,
    options: &AnalysisOptions,
    interval: &SpottedInterval,
) -> Result<Option<MolEvent>, PipelineError> {
    let indices = sample_indices(interval.onset_frame, interval.offset_frame, mol.config.frames as usize);
    let in_event =
        |f: &&BufferedFrame| (interval.onset_frame..=interval.offset_frame).contains(&f.index);
    let side = mol.config.image_size as i32;
    let mut planes = Vec::with_capacity(indices.len());
    for &index in &indices {
        let Some(frame) = buffer.iter().filter(in_event).min_by_key(|f| f.index.abs_diff(index)) else {
            return Ok(None);
        };
        planes.push(mol_plane(&frame.grey, crop, options.classify_side, side)?);
    }
    let to_image = InputToImage::new(crop, options.classify_side, side);
    Ok(Some(run_mol(mol, &planes, apex_position(&indices, interval.apex_frame), &to_image)?))
}

/// The event's class and probabilities from EPIR's prediction and MOL's,
/// as `classifier` says: EPIR's; MOL's (EPIR's attention kept); or their
/// mean. Where the chosen model has no output, the other's stands.
fn decide_class(epir: Option<Prediction>, mol: Option<&MolEvent>, classifier: Classifier) -> Option<Prediction> {
    let Some(mol) = mol.filter(|_| classifier != Classifier::Epir) else { return epir };
    let probabilities = match (&epir, classifier) {
        (Some(p), Classifier::Both) if p.probabilities.len() == mol.probabilities.len() => {
            p.probabilities.iter().zip(&mol.probabilities).map(|(a, b)| 0.5 * (a + b)).collect()
        }
        _ => mol.probabilities.clone(),
    };
    Some(Prediction {
        class: argmax(&probabilities),
        probabilities,
        attention: epir.map(|p| p.attention).unwrap_or_default(),
    })
}

/// `onset` and up to `jitter` buffered frames either side of it, in frame
/// order, leaving out any at or past `apex`.
fn onset_neighbours<'a>(
    buffer: &'a VecDeque<BufferedFrame>,
    onset: &'a BufferedFrame,
    apex: &BufferedFrame,
    jitter: u32,
) -> Vec<&'a BufferedFrame> {
    let Some(at) = buffer.iter().position(|f| f.index == onset.index) else { return vec![onset] };
    let reach = jitter as usize;
    let first = at.saturating_sub(reach);
    let last = (at + reach).min(buffer.len().saturating_sub(1));
    buffer.range(first..=last).filter(|f| f.index == onset.index || f.index < apex.index).collect()
}

/// The mean of several predictions of one event: probabilities and
/// attention averaged, the class their arg-max.
fn mean_prediction(predictions: Vec<Prediction>) -> Option<Prediction> {
    let count = predictions.len();
    let mut iter = predictions.into_iter();
    let mut mean = iter.next()?;
    for p in iter {
        mean.probabilities.iter_mut().zip(&p.probabilities).for_each(|(m, v)| *m += v);
        mean.attention.iter_mut().zip(&p.attention).for_each(|(m, v)| *m += v);
    }
    let scale = 1.0 / count as f32;
    mean.probabilities.iter_mut().chain(mean.attention.iter_mut()).for_each(|v| *v *= scale);
    mean.class = argmax(&mean.probabilities);
    Some(mean)
}

/// Flow between two frames on training-framed crops at
/// `classify_flow_side`, by `calc` (TV-L1 for events, as the training flow;
/// DIS for the per-frame track, where TV-L1's ~0.1 s per pair would not keep
/// up with live video).
fn classify_flow(
    calc: &mut dyn FnMut(&Mat, &Mat) -> Result<FlowField, MotionError>,
    options: &AnalysisOptions,
    crop: &Similarity,
    from: &Mat,
    to: &Mat,
) -> Result<FlowField, PipelineError> {
    let flow_side = options.classify_flow_side.max(EPIR_SIDE as i32);
    let small = |image: &Mat| -> Result<Mat, PipelineError> {
        let face = crop.warp(image, options.classify_side)?;
        if flow_side == options.classify_side {
            return Ok(face);
        }
        let mut out = Mat::default();
        imgproc::resize(&face, &mut out, Size::new(flow_side, flow_side), 0.0, 0.0, imgproc::INTER_AREA)
            .map_err(MotionError::from)?;
        Ok(out)
    };
    Ok(calc(&small(from)?, &small(to)?)?)
}

/// Region motion from onset to apex: TV-L1 on the spotting crop (the whole
/// face, brows to chin, eye line level; the classification crop cuts at the
/// chin) at [`REGION_FLOW_SIDE`], measured at the face's 68 points at onset.
/// The outer `Err` is a failed flow; the inner one why the regions could
/// not be measured.
fn region_motion_between(
    tvl1: &mut TvL1Flow,
    options: &AnalysisOptions,
    spot_crop: &Similarity,
    onset: &Mat,
    apex: &Mat,
    points: &[[f32; 2]],
) -> Result<Result<Vec<RegionDisplacement>, RegionMotionError>, PipelineError> {
    let image_to_flow = spot_crop.scaled(f64::from(REGION_FLOW_SIDE) / f64::from(options.spotting_side));
    let from = image_to_flow.warp(onset, REGION_FLOW_SIDE)?;
    let to = image_to_flow.warp(apex, REGION_FLOW_SIDE)?;
    let flow = tvl1.calc(&from, &to)?;
    Ok(measure_regions(&flow, &image_to_flow, points))
}

/// The crops for spotting and classification, from the same landmarks.
fn fit_crops(landmarks: &Landmarks, options: &AnalysisOptions) -> Option<(Similarity, Similarity)> {
    Some((
        Similarity::crop_from_face(landmarks, options.spotting_side)?,
        Similarity::training_crop_from_face(landmarks, options.classify_side)?,
    ))
}

/// The newest buffered frame at or before `t` (the reference frame).
/// The mean of the spotting crops of `buffer[range]` as 8-bit grey (DIS
/// takes 8 bits; the mean's rounding is far below the noise it removes).
/// Crops already in `cache` (warped with `crop`) are reused, new ones added.
fn mean_crop(
    buffer: &VecDeque<BufferedFrame>,
    range: std::ops::RangeInclusive<usize>,
    crop: &Similarity,
    side: i32,
    cache: &mut VecDeque<(u64, Mat)>,
) -> Result<Mat, FaceError> {
    let count = range.clone().count().max(1);
    if count == 1 {
        return crop.warp(&buffer[*range.start()].grey, side);
    }
    let mut sum = Mat::default();
    for frame in range.map(|i| &buffer[i]) {
        let position = match cache.iter().position(|(index, _)| *index == frame.index) {
            Some(position) => position,
            None => {
                let mut as_float = Mat::default();
                crop.warp(&frame.grey, side)?.convert_to(&mut as_float, opencv::core::CV_32F, 1.0, 0.0)?;
                let position = cache.partition_point(|(index, _)| *index < frame.index);
                cache.insert(position, (frame.index, as_float));
                position
            }
        };
        let warped = &cache[position].1;
        if sum.empty() {
            sum = warped.try_clone()?;
        } else {
            let mut total = Mat::default();
            opencv::core::add(&sum, warped, &mut total, &opencv::core::no_array(), -1)?;
            sum = total;
        }
    }
    let mut mean = Mat::default();
    sum.convert_to(&mut mean, opencv::core::CV_8U, 1.0 / count as f64, 0.0)?;
    Ok(mean)
}

fn frame_before(buffer: &VecDeque<BufferedFrame>, t: f64) -> Option<&BufferedFrame> {
    buffer.iter().rev().find(|f| f.timestamp_s <= t + 1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opencv::core::{Scalar, CV_8U};

    fn frame(index: u64, grey_level: f64) -> BufferedFrame {
        let grey = Mat::new_rows_cols_with_default(16, 16, CV_8U, Scalar::all(grey_level)).expect("frame");
        BufferedFrame { index, timestamp_s: index as f64 / 30.0, grey }
    }

    #[test]
    fn both_averages_the_two_models_and_mol_decides_alone() {
        let epir = Prediction { class: 0, probabilities: vec![0.6, 0.3, 0.1], attention: vec![1.0] };
        let mol = MolEvent { probabilities: vec![0.1, 0.2, 0.7], landmarks: Vec::new(), flow: Vec::new() };
        let both = decide_class(Some(epir.clone()), Some(&mol), Classifier::Both).expect("both");
        assert_eq!(both.class, 2);
        assert!((both.probabilities[0] - 0.35).abs() < 1e-6 && (both.probabilities[2] - 0.4).abs() < 1e-6);
        assert_eq!(both.attention, vec![1.0]);
        let alone = decide_class(Some(epir.clone()), Some(&mol), Classifier::Mol).expect("mol");
        assert_eq!((alone.class, alone.probabilities.clone()), (2, mol.probabilities.clone()));
        assert_eq!(decide_class(Some(epir.clone()), Some(&mol), Classifier::Epir), Some(epir.clone()));
        assert_eq!(decide_class(Some(epir.clone()), None, Classifier::Both), Some(epir));
    }

    #[test]
    fn mean_crop_averages_the_window_and_warps_each_frame_once() {
        let buffer: VecDeque<BufferedFrame> = [10.0, 20.0, 60.0, 100.0].iter().enumerate().map(|(i, &g)| frame(i as u64, g)).collect();
        let mut cache = VecDeque::new();
        let crop = Similarity::IDENTITY;
        let first = mean_crop(&buffer, 0..=2, &crop, 8, &mut cache).expect("mean");
        assert_eq!((first.rows(), first.cols()), (8, 8));
        assert_eq!(*first.at_2d::<u8>(3, 5).expect("pixel"), 30);
        assert_eq!(cache.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![0, 1, 2]);
        // The next window shares two frames: only frame 3 is warped anew.
        let second = mean_crop(&buffer, 1..=3, &crop, 8, &mut cache).expect("mean");
        assert_eq!(*second.at_2d::<u8>(0, 0).expect("pixel"), 60);
        assert_eq!(cache.len(), 4);
        // A window of one is the frame itself.
        let single = mean_crop(&buffer, 3..=3, &crop, 8, &mut VecDeque::new()).expect("single");
        assert_eq!(*single.at_2d::<u8>(7, 7).expect("pixel"), 100);
    }

    #[test]
    fn onset_neighbours_stay_inside_the_buffer_and_before_the_apex() {
        let buffer: VecDeque<BufferedFrame> = (10..20).map(|i| frame(i, 0.0)).collect();
        let at = |i: u64| &buffer[(i - 10) as usize];
        let indices = |frames: Vec<&BufferedFrame>| frames.iter().map(|f| f.index).collect::<Vec<_>>();
        assert_eq!(indices(onset_neighbours(&buffer, at(14), at(18), 0)), [14]);
        assert_eq!(indices(onset_neighbours(&buffer, at(14), at(18), 2)), [12, 13, 14, 15, 16]);
        // The buffer's first frame: nothing older to take.
        assert_eq!(indices(onset_neighbours(&buffer, at(10), at(18), 2)), [10, 11, 12]);
        // Never the apex or past it.
        assert_eq!(indices(onset_neighbours(&buffer, at(14), at(16), 2)), [12, 13, 14, 15]);
    }

    #[test]
    fn the_mean_prediction_averages_probabilities_and_attention() {
        let p = |probabilities: Vec<f32>, attention: Vec<f32>| Prediction { class: 0, probabilities, attention };
        let mean = mean_prediction(vec![p(vec![0.5, 0.4, 0.1], vec![1.0, 0.0]), p(vec![0.2, 0.6, 0.2], vec![0.0, 1.0])])
            .expect("a mean");
        assert_eq!(mean.class, 1);
        assert!(mean.probabilities.iter().zip([0.35, 0.5, 0.15]).all(|(a, b)| (a - b).abs() < 1e-6), "{mean:?}");
        assert_eq!(mean.attention, vec![0.5, 0.5]);
        assert_eq!(mean_prediction(Vec::new()), None);
    }
}
