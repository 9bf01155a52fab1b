//! Optical strain: how much the flow field stretches the skin, the third
//! input channel of EPIR (and of STSTNet/HTNet before it).
use super::FlowField;

/// Strain magnitude per pixel, sqrt(u_x² + v_y² + ½(u_y + v_x)²), with
/// central differences inside and one-sided ones at the border (as
/// numpy.gradient, which the published preprocessing used).
pub fn flow_to_strain(flow: &FlowField) -> Vec<f32> {
    let (w, h) = (flow.width, flow.height);
    let at = |field: &[f32], x: usize, y: usize| field[y * w + x];
    let d_dx = |field: &[f32], x: usize, y: usize| -> f32 {
        match (x, w) {
            (_, 1) => 0.0,
            (0, _) => at(field, 1, y) - at(field, 0, y),
            (x, w) if x == w - 1 => at(field, x, y) - at(field, x - 1, y),
            (x, _) => 0.5 * (at(field, x + 1, y) - at(field, x - 1, y)),
        }
    };
    let d_dy = |field: &[f32], x: usize, y: usize| -> f32 {
        match (y, h) {
            (_, 1) => 0.0,
            (0, _) => at(field, x, 1) - at(field, x, 0),
            (y, h) if y == h - 1 => at(field, x, y) - at(field, x, y - 1),
            (y, _) => 0.5 * (at(field, x, y + 1) - at(field, x, y - 1)),
        }
    };
    let mut strain = vec![0.0; w * h];
    for y in 0..h {
        for x in 0..w {
            let (ux, vy) = (d_dx(&flow.u, x, y), d_dy(&flow.v, x, y));
            let shear = d_dy(&flow.u, x, y) + d_dx(&flow.v, x, y);
            strain[y * w + x] = (ux * ux + vy * vy + 0.5 * shear * shear).sqrt();
        }
    }
    strain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translation_has_no_strain_and_stretch_has_its_rate() {
        let mut shift = FlowField::zeros(5, 5);
        shift.u.iter_mut().for_each(|u| *u = 3.0);
        assert!(flow_to_strain(&shift).iter().all(|&s| s == 0.0));
        // u = 0.1·x: a uniform horizontal stretch of 10 %.
        let mut stretch = FlowField::zeros(5, 5);
        for y in 0..5 {
            for x in 0..5 {
                stretch.u[y * 5 + x] = 0.1 * x as f32;
            }
        }
        assert!(flow_to_strain(&stretch).iter().all(|&s| (s - 0.1).abs() < 1e-6));
        // v = 0.2·x: pure shear, strain = sqrt(½·0.2²).
        let mut shear = FlowField::zeros(5, 5);
        for y in 0..5 {
            for x in 0..5 {
                shear.v[y * 5 + x] = 0.2 * x as f32;
            }
        }
        let expected = (0.5f32 * 0.04).sqrt();
        assert!(flow_to_strain(&shear).iter().all(|&s| (s - expected).abs() < 1e-6));
    }
}
