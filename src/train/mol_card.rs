//! The model card written beside the shipped MOL-lite weights: what it was
//! trained on (clips rendered from real apex crops and real flow, not
//! recorded sequences), how, what its development-split LOSO run measured,
//! and the command that reproduces it.
use super::card::utc_date;
use super::metrics::Scores;
use super::mol_trainer::{MolLosses, MolRecipe};
use super::protocol::LosoReport;
use super::trainer::TrainOptions;

/// The heading every MOL card starts with: a file that starts otherwise is
/// not ours, and never overwritten.
pub const MOL_CARD_HEADING: &str = "# MOL-lite model card";

pub struct MolCardFacts<'a> {
    pub weights_file: &'a str,
    pub recipe: &'a MolRecipe,
    pub options: &'a TrainOptions,
    pub params: i64,
    pub data: &'a str,
    pub samples: usize,
    pub subjects: usize,
    pub class_counts: &'a [usize],
    pub device: &'a str,
    pub wall_time_s: f64,
    pub finished_unix_s: u64,
    pub command: &'a str,
    /// Each epoch's unweighted losses on the training clips.
    pub losses: &'a [MolLosses],
    /// The same recipe's LOSO report (the development split's).
    pub loso: Option<&'a LosoReport>,
}

/// Sample-weighted means of the folds' held-out flow EPE and landmark NME.
pub fn pooled_flow_and_landmarks(report: &LosoReport) -> Option<(f64, f64)> {
    let (mut epe, mut nme, mut count) = (0.0, 0.0, 0usize);
    for fold in &report.folds {
        let (e, n) = (fold.flow_epe?, fold.landmark_nme?);
        epe += e * fold.samples.len() as f64;
        nme += n * fold.samples.len() as f64;
        count += fold.samples.len();
    }
    (count > 0).then(|| (epe / count as f64, nme / count as f64))
}

fn scores_cell(scores: Option<&Scores>) -> String {
    scores.map(|s| format!("{:.3} / {:.3}", s.uf1, s.uar)).unwrap_or_else(|| "–".into())
}

pub fn mol_model_card(facts: &MolCardFacts<'_>) -> String {
    let c = &facts.recipe.config;
    let o = facts.options;
    let r = facts.recipe;
    let mut md = format!("{MOL_CARD_HEADING}: `{}`\n\n", facts.weights_file);
    md.push_str(
        "MOL-lite (a smaller MOL, Shao et al. 2025: `model::mol`, `MolConfig::lite`) predicts from eight grey frames \
of a face, jointly, the micro-expression class, the optical flow of each adjacent frame pair and the 68 iBUG \
landmarks of each second frame. Written by `glimpse train --model mol-lite --protocol all`.\n\n",
    );
    md.push_str(
        "**Read this first.** MOL-lite was trained on 8-frame sequences *rendered* from each sample's real apex \
frame and real onset-to-apex flow (`train::mol_sequences`: the apex crop warped through the decoded flow, with exact \
flow and landmark targets), not on recorded sequences. Its classifier is weak: on the development split's LOSO it \
stays near the class prior (it predicts negative for almost every sample; figures below). EPIR remains the \
shipped classifier; MOL-lite's flow and landmarks are measured only on rendered clips (below).\n\n",
    );
    md.push_str("## Data\n\n");
    md.push_str(&format!(
        "MEGC2019 composite set (CASME II + SAMM + SMIC-HS), {} samples from {} subjects, class counts {:?} ({}), read \
from `{}`: per sample, the 28x28 onset-to-apex flow image (its zero taken as each channel's median, one gain for u \
and v) and the apex face crop, whose 68 points the Face Mesh gives (`train::mol_inputs`). Each epoch renders every \
clip afresh: a peak displacement drawn in {:?} px at 128 px (scaled to {} px), sensor noise of {} grey levels. The \
source data sets are released for research only; so are these weights.\n\n",
        facts.samples,
        facts.subjects,
        facts.class_counts,
        c.class_names.join(" / "),
        facts.data,
        r.sequences.peak_px_at_128,
        r.sequences.side,
        r.sequences.noise_grey_levels,
    ));
    md.push_str("## Architecture\n\n");
    md.push_str(&format!(
        "{} grey {s}x{s} frames in -1..1 (grey 0..1 mapped by (g - 0.5) x 2), {} feature channels, flow head {:?}, \
correlation {}x{} (dilation {}), {} landmarks, classes {}. {} parameters. Config: the `.ron` file beside the weights.\n\n",
        c.frames,
        c.feature_channels,
        c.flow_head,
        c.correlation_patch,
        c.correlation_patch,
        c.correlation_dilation,
        c.landmarks,
        c.class_names.join(" / "),
        facts.params,
        s = c.image_size,
    ));
    md.push_str("## Training\n\n");
    md.push_str(&format!(
        "All {} samples, {} epochs, batch {}, AdamW at a constant lr {} (weight decay {}), losses MER x {} + flow MSE x {} \
+ landmark L1 / inter-ocular x {}; seed {}. No sample was held out: the LOSO figures below estimate how this recipe \
generalises to unseen people. Trained on {} in {:.0} s, finished {} (UTC).\n\n",
        facts.samples,
        o.epochs,
        o.batch_size,
        o.learning_rate,
        o.weight_decay,
        r.mer_weight,
        r.flow_weight,
        r.landmark_weight,
        o.seed,
        facts.device,
        facts.wall_time_s,
        utc_date(facts.finished_unix_s),
    ));
    if let (Some(first), Some(last)) = (facts.losses.first(), facts.losses.last()) {
        md.push_str(&format!(
            "Training losses (unweighted), first -> last epoch: MER {:.3} -> {:.3}, flow {:.4} -> {:.4}, landmarks \
{:.4} -> {:.4}.\n\n",
            first.mer, last.mer, first.flow, last.flow, first.landmarks, last.landmarks
        ));
    }
    md.push_str(&format!("Reproduce with (`make weights-mol`):\n\n```\n{}\n```\n\n", facts.command));
    md.push_str("## Leave-one-subject-out results\n\n");
    match facts.loso {
        None => md.push_str("No LOSO report was given to `--loso-report`; none is claimed.\n"),
        Some(report) => {
            let subjects = format!("{:?}", report.subjects_used).to_lowercase();
            md.push_str(&format!(
                "The same recipe (lr {}, {} epochs), {} folds on the {} subjects ({} samples scored), honest protocol \
(the last epoch of the fixed schedule), predictions pooled over folds (UF1 = mean per-class F1, UAR = mean per-class \
recall), 95 % bootstrap intervals over subjects. {:.0} s on {}, finished {} (UTC):\n\n```\n{}\n```\n\n",
                report.options.learning_rate,
                report.options.epochs,
                report.folds_run,
                subjects,
                report.honest.get("full").map(|s| s.samples).unwrap_or(0),
                report.wall_time_s,
                report.device,
                utc_date(report.finished_unix_s),
                report.command
            ));
            md.push_str("| subset | UF1 / UAR | UF1 95 % interval |\n|---|---|---|\n");
            for name in ["full", "casme2", "samm", "smic"] {
                let interval = report
                    .honest_intervals
                    .get(name)
                    .map(|i| format!("[{:.3}, {:.3}]", i.uf1.low, i.uf1.high))
                    .unwrap_or_else(|| "–".into());
                md.push_str(&format!("| {name} | {} | {interval} |\n", scores_cell(report.honest.get(name))));
            }
            if let Some(full) = report.honest.get("full") {
                md.push_str("\nConfusion (rows truth, columns predicted; ");
                md.push_str(&c.class_names.join(", "));
                md.push_str("):\n\n```\n");
                for row in &full.confusion {
                    md.push_str(&format!("{row:?}\n"));
                }
                md.push_str("```\n");
            }
            if let Some((epe, nme)) = pooled_flow_and_landmarks(report) {
                md.push_str(&format!(
                    "\nOn the held-out subjects' rendered clips (mean over samples): flow end-point error {epe:.3} px \
at {s} px, landmark NME {nme:.3} (mean point distance over the inter-ocular distance). These are measured against \
the rendering's own exact targets, so they say how well MOL-lite recovers motion of the kind it was trained on, not \
how it does on recorded video.\n",
                    s = c.image_size
                ));
            }
        }
    }
    md
}
