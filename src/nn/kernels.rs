//! Element-wise CPU kernels of the fast encoder: fused softmax, GELU (erf), layer norm, bias and
//! residual adds, mean pooling.
//!
//! Each kernel is a plain loop written so LLVM vectorises it (no branches, fixed-width
//! accumulators for reductions), compiled three times — AVX-512, AVX2 + FMA and the baseline —
//! and chosen at run time, so one binary uses the widest vectors the CPU has. `exp` and `erf` are
//! polynomial approximations (relative error ≈ 2e-7, absolute ≈ 2e-7) because `f32::exp` and
//! erf are scalar library calls that no compiler vectorises. Their polynomials use `mul_add`,
//! one FMA instruction in the AVX2 and AVX-512 variants.

/// Defines `pub fn $name(args)` that dispatches to the widest compiled variant of `$body`.
macro_rules! multiversion {
    ($(#[$m:meta])* pub fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        #[allow(clippy::too_many_arguments)]
        pub fn $name($($arg: $ty),*) {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn inner($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn v4($($arg: $ty),*) { inner($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn v3($($arg: $ty),*) { inner($($arg),*) }
                match level() {
                    // SAFETY: `level` checked that the CPU has these features.
                    Level::V4 => return unsafe { v4($($arg),*) },
                    Level::V3 => return unsafe { v3($($arg),*) },
                    Level::Base => {}
                }
            }
            inner($($arg),*)
        }
    };
}

#[derive(Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)]
enum Level {
    V4,
    V3,
    Base,
}

#[allow(dead_code)]
fn level() -> Level {
    use std::sync::OnceLock;
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if std::env::var_os("GENRE_NLP_NO_AVX512").is_none()
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512vl")
            {
                return Level::V4;
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Level::V3;
            }
        }
        Level::Base
    })
}

/// Lanes of the reduction accumulators (one AVX-512 register of f32).
const LANES: usize = 16;

/// `e^x` for `x` in f32's range (inputs below −87 give ≈ 0; above 88 are clamped).
#[inline(always)]
pub fn exp_approx(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.clamp(-87.0, 88.0);
    // Round to nearest with the 1.5·2^23 trick: the low mantissa bits of `m` are then the
    // integer n itself, which gives 2^n without a float-to-int conversion (Rust's saturating
    // `as i32` does not vectorise).
    let m = x.mul_add(LOG2E, 12_582_912.0);
    let n = m - 12_582_912.0;
    let r = (-n).mul_add(LN2_LO, (-n).mul_add(LN2_HI, x));
    // e^r on |r| ≤ ln2/2, degree-6 Taylor (error < 1.3e-7 relative).
    let p: f32 = 1.0 / 720.0;
    let p = p.mul_add(r, 1.0 / 120.0);
    let p = p.mul_add(r, 1.0 / 24.0);
    let p = p.mul_add(r, 1.0 / 6.0);
    let p = p.mul_add(r, 0.5);
    let p = p.mul_add(r, 1.0);
    let p = p.mul_add(r, 1.0);
    // bits(m) = 0x4B40_0000 + n for |n| < 2^22; n + 127 is in 1..=254 after the clamp.
    let scale = f32::from_bits(m.to_bits().wrapping_sub(0x4B40_0000 - 127) << 23);
    p * scale
}

/// erf(x), Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7).
#[inline(always)]
pub fn erf_approx(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t.mul_add(1.061_405_4, -1.453_152_1);
    let poly = poly.mul_add(t, 1.421_413_7);
    let poly = poly.mul_add(t, -0.284_496_74);
    let poly = poly.mul_add(t, 0.254_829_6) * t;
    let y = (-poly).mul_add(exp_approx(-a * a), 1.0);
    y.copysign(x)
}

/// GELU with erf (what BERT's `"gelu"` means): `x/2 · (1 + erf(x/√2))`.
#[inline(always)]
pub fn gelu_erf(x: f32) -> f32 {
    0.5 * x * (1.0 + erf_approx(x * std::f32::consts::FRAC_1_SQRT_2))
}

#[inline(always)]
fn sum(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            acc[i] += c[i];
        }
    }
    acc.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

#[inline(always)]
fn max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            acc[i] = acc[i].max(c[i]);
        }
    }
    acc.iter()
        .chain(rest)
        .cloned()
        .fold(f32::NEG_INFINITY, f32::max)
}

#[inline(always)]
fn sq_dev(x: &[f32], mean: f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            let d = c[i] - mean;
            acc[i] += d * d;
        }
    }
    acc.iter().sum::<f32>() + rest.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>()
}

multiversion! {
    /// In place, each row of `x` (rows of `width`): `softmax(row · scale)`.
    pub fn softmax_rows(x: &mut [f32], width: usize, scale: f32) {
        for row in x.chunks_exact_mut(width) {
            let m = max(row) * scale;
            for v in row.iter_mut() {
                *v = exp_approx(*v * scale - m);
            }
            let inv = 1.0 / sum(row);
            for v in row.iter_mut() {
                *v *= inv;
            }
        }
    }
}

multiversion! {
    /// In place: `x[r, c] = gelu(x[r, c] + bias[c])`, rows of `bias.len()`.
    pub fn bias_gelu(x: &mut [f32], bias: &[f32]) {
        for row in x.chunks_exact_mut(bias.len()) {
            for (v, b) in row.iter_mut().zip(bias) {
                *v = gelu_erf(*v + b);
            }
        }
    }
}

multiversion! {
    /// In place: `x = gelu(x)`.
    pub fn gelu_in_place(x: &mut [f32]) {
        for v in x.iter_mut() {
            *v = gelu_erf(*v);
        }
    }
}

multiversion! {
    /// In place, each row (of `gamma.len()`): `(x − mean) / √(var + eps) · gamma + beta`.
    pub fn layer_norm_rows(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
        let w = gamma.len();
        for row in x.chunks_exact_mut(w) {
            let mean = sum(row) / w as f32;
            let var = sq_dev(row, mean) / w as f32;
            let rstd = 1.0 / (var + eps).sqrt();
            for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
                *v = (*v - mean) * rstd * g + b;
            }
        }
    }
}

multiversion! {
    /// The layer norm of one row in place, as [`layer_norm_rows`]; `stats` gets the row's mean
    /// and 1/σ (what the backward needs).
    pub fn layer_norm_row_stats(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32, stats: &mut (f32, f32)) {
        let w = gamma.len();
        let mean = sum(row) / w as f32;
        let var = sq_dev(row, mean) / w as f32;
        let rstd = 1.0 / (var + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = (*v - mean) * rstd * g + b;
        }
        *stats = (mean, rstd);
    }
}

multiversion! {
    /// Backward of one row's layer norm: with `x̂ = (x − mean)/σ` and `d = dy ⊙ γ`,
    /// `dx = (d − mean(d) − x̂ · mean(d ⊙ x̂)) / σ`; adds `dy ⊙ x̂` to `dgamma` and `dy` to `dbeta`.
    pub fn layer_norm_row_back(x: &[f32], dy: &[f32], gamma: &[f32], stats: (f32, f32), dx: &mut [f32], dgamma: &mut [f32], dbeta: &mut [f32]) {
        let (mean, rstd) = stats;
        let w = gamma.len();
        let mut s1 = [0.0f32; LANES];
        let mut s2 = [0.0f32; LANES];
        // dx holds x̂ for now.
        for (d, &xv) in dx.iter_mut().zip(x) {
            *d = (xv - mean) * rstd;
        }
        for ((dg, db), (&gy, &xh)) in dgamma.iter_mut().zip(dbeta.iter_mut()).zip(dy.iter().zip(dx.iter())) {
            *dg += gy * xh;
            *db += gy;
        }
        let mut i = 0;
        while i + LANES <= w {
            for l in 0..LANES {
                let d = dy[i + l] * gamma[i + l];
                s1[l] += d;
                s2[l] += d * dx[i + l];
            }
            i += LANES;
        }
        let mut t1: f32 = s1.iter().sum();
        let mut t2: f32 = s2.iter().sum();
        while i < w {
            let d = dy[i] * gamma[i];
            t1 += d;
            t2 += d * dx[i];
            i += 1;
        }
        let m1 = t1 / w as f32;
        let m2 = t2 / w as f32;
        for ((d, &gy), &g) in dx.iter_mut().zip(dy).zip(gamma) {
            *d = (gy * g - m1 - *d * m2) * rstd;
        }
    }
}

multiversion! {
    /// In place: `g = g · gelu'(x)` for the erf GELU,
    /// `gelu'(x) = ½(1 + erf(x/√2)) + x · e^(−x²/2)/√(2π)`.
    pub fn gelu_erf_back(x: &[f32], g: &mut [f32]) {
        const INV_SQRT_2PI: f32 = 0.398_942_3;
        for (gv, &xv) in g.iter_mut().zip(x) {
            let cdf = 0.5 * (1.0 + erf_approx(xv * std::f32::consts::FRAC_1_SQRT_2));
            let pdf = INV_SQRT_2PI * exp_approx(-0.5 * xv * xv);
            *gv *= cdf + xv * pdf;
        }
    }
}

/// GELU, tanh approximation (what `gelu_new` and `gelu_pytorch_tanh` mean):
/// `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`.
#[inline(always)]
pub fn gelu_tanh(x: f32) -> f32 {
    const C: f32 = 0.797_884_6;
    0.5 * x * (1.0 + tanh_approx(C * x.mul_add(0.044_715 * x * x, x)))
}

/// Derivative of [`gelu_tanh`].
#[inline(always)]
pub fn gelu_tanh_grad(x: f32) -> f32 {
    const C: f32 = 0.797_884_6;
    let t = tanh_approx(C * x.mul_add(0.044_715 * x * x, x));
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * C * (1.0 + 3.0 * 0.044_715 * x * x)
}

multiversion! {
    /// In place: `x = gelu_tanh(x)`.
    pub fn gelu_tanh_in_place(x: &mut [f32]) {
        for v in x.iter_mut() {
            *v = gelu_tanh(*v);
        }
    }
}

multiversion! {
    /// In place: `g = g · gelu_tanh'(x)`.
    pub fn gelu_tanh_back(x: &[f32], g: &mut [f32]) {
        for (gv, &xv) in g.iter_mut().zip(x) {
            *gv *= gelu_tanh_grad(xv);
        }
    }
}

multiversion! {
    /// Backward of [`softmax_rows`] (rows of `width`), in place on the gradient of the
    /// probabilities `dp`: `dp = p ⊙ (dp − Σ dp ⊙ p) · scale`.
    pub fn softmax_rows_back(dp: &mut [f32], p: &[f32], width: usize, scale: f32) {
        for (d, pr) in dp.chunks_exact_mut(width).zip(p.chunks_exact(width)) {
            let mut acc = [0.0f32; LANES];
            let mut i = 0;
            while i + LANES <= width {
                for l in 0..LANES {
                    acc[l] += d[i + l] * pr[i + l];
                }
                i += LANES;
            }
            let mut dot: f32 = acc.iter().sum();
            while i < width {
                dot += d[i] * pr[i];
                i += 1;
            }
            for (dv, &pv) in d.iter_mut().zip(pr) {
                *dv = pv * (*dv - dot) * scale;
            }
        }
    }
}

multiversion! {
    /// `dst[r, c] = bias[c]` (+ `residual[r, c]` when given): what a matmul then accumulates into.
    pub fn fill_bias(dst: &mut [f32], bias: &[f32], residual: Option<&[f32]>) {
        match residual {
            Some(res) => {
                for (row, rrow) in dst.chunks_exact_mut(bias.len()).zip(res.chunks_exact(bias.len())) {
                    for ((d, b), r) in row.iter_mut().zip(bias).zip(rrow) {
                        *d = b + r;
                    }
                }
            }
            None => {
                for row in dst.chunks_exact_mut(bias.len()) {
                    row.copy_from_slice(bias);
                }
            }
        }
    }
}

multiversion! {
    /// One AdamW step in place (PyTorch's update; the training loop's optimiser), `h` =
    /// `[lr / (1 − β₁ᵗ), β₁, β₂, ε, 1 − lr·λ, 1 / √(1 − β₂ᵗ), gradient scale]`. Element-wise
    /// and without FMA contraction, so every variant gives the same bits; one square root and
    /// one division per value (the bias correction is a multiplication), which bound its speed.
    pub fn adamw_update(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], h: [f32; 7]) {
        let [step, b1, b2, eps, decay, inv_bc2_sqrt, scale] = h;
        for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            let g = g * scale;
            *w *= decay;
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            let denom = v.sqrt() * inv_bc2_sqrt + eps;
            *w -= step * *m / denom;
        }
    }
}

multiversion! {
    /// A dropout mask from 16-bit draws: `dst = 0` where the draw is below `threshold`, else
    /// `keep`.
    pub fn dropout_mask(dst: &mut [f32], draws: &[u16], threshold: u16, keep: f32) {
        for (d, &r) in dst.iter_mut().zip(draws) {
            *d = if r < threshold { 0.0 } else { keep };
        }
    }
}

multiversion! {
    /// ReLU's backward through a dropout mask: `dst = g·m` where `out > 0`, else 0 (`m` = 1
    /// without a mask; `out = relu(z)·m` with `m ≥ 0`, so `out > 0` exactly where z and m are).
    pub fn relu_grad(dst: &mut [f32], g: &[f32], out: &[f32], mask: Option<&[f32]>) {
        match mask {
            Some(m) => {
                for (((d, &g), &o), &m) in dst.iter_mut().zip(g).zip(out).zip(m) {
                    *d = if o > 0.0 { g * m } else { 0.0 };
                }
            }
            None => {
                for ((d, &g), &o) in dst.iter_mut().zip(g).zip(out) {
                    *d = if o > 0.0 { g } else { 0.0 };
                }
            }
        }
    }
}

multiversion! {
    /// `out = Σ x²` (f32 lanes, then f64): gradient norms without a temporary tensor.
    pub fn sum_squares(x: &[f32], out: &mut f64) {
        let mut total = 0.0f64;
        for block in x.chunks(4096) {
            let mut acc = [0.0f32; LANES];
            let chunks = block.chunks_exact(LANES);
            let rest = chunks.remainder();
            for c in chunks {
                for i in 0..LANES {
                    acc[i] += c[i] * c[i];
                }
            }
            total += f64::from(acc.iter().sum::<f32>() + rest.iter().map(|v| v * v).sum::<f32>());
        }
        *out = total;
    }
}

multiversion! {
    /// `out = mean of x's rows` (rows of `out.len()`); with `normalize`, then `out / ‖out‖₂`.
    pub fn mean_rows(x: &[f32], out: &mut [f32], normalize: bool) {
        let w = out.len();
        out.iter_mut().for_each(|o| *o = 0.0);
        let n = (x.len() / w.max(1)).max(1) as f32;
        for row in x.chunks_exact(w) {
            for (o, v) in out.iter_mut().zip(row) {
                *o += v;
            }
        }
        let inv = 1.0 / n;
        out.iter_mut().for_each(|o| *o *= inv);
        if normalize {
            let mut acc = [0.0f32; LANES];
            let chunks = out.chunks_exact(LANES);
            let rest: f32 = chunks.remainder().iter().map(|v| v * v).sum();
            for c in chunks {
                for i in 0..LANES {
                    acc[i] += c[i] * c[i];
                }
            }
            let norm = (acc.iter().sum::<f32>() + rest).sqrt().max(1e-12);
            out.iter_mut().for_each(|o| *o /= norm);
        }
    }
}

/// The logistic function through [`exp_approx`].
#[inline(always)]
pub fn sigmoid_approx(x: f32) -> f32 {
    1.0 / (1.0 + exp_approx(-x))
}

/// tanh through [`exp_approx`]: `2σ(2x) − 1`.
#[inline(always)]
pub fn tanh_approx(x: f32) -> f32 {
    2.0 / (1.0 + exp_approx(-2.0 * x)) - 1.0
}

multiversion! {
    /// One GRU step of one sequence (PyTorch's equations), `H = hp.len()`: `x` and `gh` hold
    /// the input and recurrent pre-activations `[r | z | n]` (`3H` each, `gh` with its bias),
    /// `hp` the previous state, `m` 1 for a token and 0 for padding (the state is then kept).
    /// Writes the gates `[r | z | n]` and `gh`'s n part (the backward needs both) and the state.
    pub fn gru_step(x: &[f32], gh: &[f32], hp: &[f32], m: f32, gates: &mut [f32], ghn: &mut [f32], h: &mut [f32]) {
        let n_h = hp.len();
        let (xr, rest) = x.split_at(n_h);
        let (xz, xn) = rest.split_at(n_h);
        let (hr, rest) = gh.split_at(n_h);
        let (hz, hn) = rest.split_at(n_h);
        let (gr, rest) = gates.split_at_mut(n_h);
        let (gz, gn) = rest.split_at_mut(n_h);
        for j in 0..n_h {
            let r = sigmoid_approx(xr[j] + hr[j]);
            let z = sigmoid_approx(xz[j] + hz[j]);
            let n = tanh_approx(xn[j] + r * hn[j]);
            let new = n + z * (hp[j] - n);
            gr[j] = r;
            gz[j] = z;
            gn[j] = n;
            ghn[j] = hn[j];
            h[j] = hp[j] + m * (new - hp[j]);
        }
    }
}

multiversion! {
    /// The backward of [`gru_step`] for one sequence: from `dh` (the loss's gradient at the
    /// state) writes the pre-activation gradients `da = [dr | dz | dn]` of the input part and
    /// `dgh` of the recurrent part (they differ in n: `dgh_n = da_n · r`), and sets `dh` to
    /// the part of the previous state's gradient that skips the recurrent matmul.
    pub fn gru_step_back(gates: &[f32], ghn: &[f32], hp: &[f32], m: f32, dh: &mut [f32], da: &mut [f32], dgh: &mut [f32]) {
        let n_h = hp.len();
        let (gr, rest) = gates.split_at(n_h);
        let (gz, gn) = rest.split_at(n_h);
        let (dar, rest) = da.split_at_mut(n_h);
        let (daz, dan) = rest.split_at_mut(n_h);
        let (dgr, rest) = dgh.split_at_mut(n_h);
        let (dgz, dgn) = rest.split_at_mut(n_h);
        for j in 0..n_h {
            let (r, z, n) = (gr[j], gz[j], gn[j]);
            let dnew = m * dh[j];
            let dn = dnew * (1.0 - z);
            let dz = dnew * (hp[j] - n);
            let a_n = dn * (1.0 - n * n);
            let a_r = a_n * ghn[j] * r * (1.0 - r);
            let a_z = dz * z * (1.0 - z);
            dar[j] = a_r;
            daz[j] = a_z;
            dan[j] = a_n;
            dgr[j] = a_r;
            dgz[j] = a_z;
            dgn[j] = a_n * r;
            dh[j] = (1.0 - m) * dh[j] + dnew * z;
        }
    }
}

multiversion! {
    /// One LSTM step of one sequence (PyTorch's gate order `[i | f | g | o]`): `a` holds the
    /// summed pre-activations (`4H`), `hp` / `cp` the previous state, `m` as in [`gru_step`].
    /// Writes the activated gates, `tanh` of the new cell, and the (masked) new `h` and `c`.
    pub fn lstm_step(a: &[f32], hp: &[f32], cp: &[f32], m: f32, gates: &mut [f32], tc: &mut [f32], h: &mut [f32], c: &mut [f32]) {
        let n_h = hp.len();
        let (ai, rest) = a.split_at(n_h);
        let (af, rest) = rest.split_at(n_h);
        let (ag, ao) = rest.split_at(n_h);
        let (gi, rest) = gates.split_at_mut(n_h);
        let (gf, rest) = rest.split_at_mut(n_h);
        let (gg, go) = rest.split_at_mut(n_h);
        for j in 0..n_h {
            let i = sigmoid_approx(ai[j]);
            let f = sigmoid_approx(af[j]);
            let g = tanh_approx(ag[j]);
            let o = sigmoid_approx(ao[j]);
            let cn = f * cp[j] + i * g;
            let t = tanh_approx(cn);
            gi[j] = i;
            gf[j] = f;
            gg[j] = g;
            go[j] = o;
            tc[j] = t;
            c[j] = cp[j] + m * (cn - cp[j]);
            h[j] = hp[j] + m * (o * t - hp[j]);
        }
    }
}

multiversion! {
    /// The backward of [`lstm_step`]: from `dh`, `dc` (gradients at the new state) writes the
    /// pre-activation gradients `da` (`4H`) and sets `dh`, `dc` to the previous state's
    /// gradients, except `dh`'s part through the recurrent matmul.
    pub fn lstm_step_back(gates: &[f32], tc: &[f32], cp: &[f32], m: f32, dh: &mut [f32], dc: &mut [f32], da: &mut [f32]) {
        let n_h = cp.len();
        let (gi, rest) = gates.split_at(n_h);
        let (gf, rest) = rest.split_at(n_h);
        let (gg, go) = rest.split_at(n_h);
        let (dai, rest) = da.split_at_mut(n_h);
        let (daf, rest) = rest.split_at_mut(n_h);
        let (dag, dao) = rest.split_at_mut(n_h);
        for j in 0..n_h {
            let (i, f, g, o, t) = (gi[j], gf[j], gg[j], go[j], tc[j]);
            let dhn = m * dh[j];
            let dcn = m * dc[j] + dhn * o * (1.0 - t * t);
            dai[j] = dcn * g * i * (1.0 - i);
            daf[j] = dcn * cp[j] * f * (1.0 - f);
            dag[j] = dcn * i * (1.0 - g * g);
            dao[j] = dhn * t * o * (1.0 - o);
            dh[j] *= 1.0 - m;
            dc[j] = (1.0 - m) * dc[j] + dcn * f;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn erf_ref(x: f64) -> f64 {
        // erf by its Taylor series (converges fast for |x| < 3), enough for a reference.
        let mut term = x;
        let mut s = x;
        for n in 1..200 {
            term *= -x * x / n as f64;
            s += term / (2 * n + 1) as f64;
        }
        s * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn exp_and_erf_are_accurate() {
        let mut worst_exp = 0.0f64;
        for i in -8000..=8000 {
            let x = i as f32 * 0.01;
            let rel = ((exp_approx(x) as f64 - (x as f64).exp()) / (x as f64).exp()).abs();
            worst_exp = worst_exp.max(rel);
        }
        assert!(worst_exp < 5e-7, "exp: worst relative error {worst_exp}");
        let mut worst_erf = 0.0f64;
        for i in -300..=300 {
            let x = i as f32 * 0.01;
            worst_erf = worst_erf.max((erf_approx(x) as f64 - erf_ref(x as f64)).abs());
        }
        assert!(worst_erf < 5e-7, "erf: worst absolute error {worst_erf}");
        assert!(exp_approx(-200.0) < 1e-37);
        assert!(exp_approx(200.0).is_finite());
    }

    #[test]
    fn row_kernels_match_plain_loops() {
        let w = 37; // not a multiple of the lanes: the remainders are exercised
        let x: Vec<f32> = (0..3 * w)
            .map(|i| ((i * 7919) % 23) as f32 * 0.3 - 3.0)
            .collect();
        let mut s = x.clone();
        softmax_rows(&mut s, w, 0.5);
        for (row, srow) in x.chunks(w).zip(s.chunks(w)) {
            let m = row.iter().cloned().fold(f32::MIN, f32::max) * 0.5;
            let z: f64 = row.iter().map(|&v| ((v * 0.5 - m) as f64).exp()).sum();
            for (&v, &got) in row.iter().zip(srow) {
                let want = ((v * 0.5 - m) as f64).exp() / z;
                assert!((got as f64 - want).abs() < 1e-6, "{got} vs {want}");
            }
        }
        let gamma: Vec<f32> = (0..w).map(|i| 1.0 + i as f32 * 0.01).collect();
        let beta: Vec<f32> = (0..w).map(|i| i as f32 * -0.02).collect();
        let mut ln = x.clone();
        layer_norm_rows(&mut ln, &gamma, &beta, 1e-12);
        for (row, lrow) in x.chunks(w).zip(ln.chunks(w)) {
            let mean: f64 = row.iter().map(|&v| v as f64).sum::<f64>() / w as f64;
            let var: f64 = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / w as f64;
            for i in 0..w {
                let want = (row[i] as f64 - mean) / var.sqrt() * gamma[i] as f64 + beta[i] as f64;
                assert!((lrow[i] as f64 - want).abs() < 1e-5);
            }
        }
        let mut g = x.clone();
        bias_gelu(&mut g, &beta);
        for (i, (&v, &got)) in x.iter().zip(&g).enumerate() {
            let z = (v + beta[i % w]) as f64;
            let want = 0.5 * z * (1.0 + erf_ref(z / 2f64.sqrt()));
            assert!(
                (got as f64 - want).abs() < 1e-6,
                "gelu({z}) = {got}, want {want}"
            );
        }
        let mut mean = vec![0.0; w];
        mean_rows(&x, &mut mean, true);
        let norm: f32 = mean.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-6);
        let mut filled = vec![0.0; 2 * w];
        fill_bias(&mut filled, &beta, Some(&x[..2 * w]));
        assert_eq!(filled[w + 3], beta[3] + x[w + 3]);
        // ReLU's backward, with and without a mask, against the plain rule.
        let m: Vec<f32> = (0..3 * w).map(|i| (i % 3) as f32).collect();
        let gr: Vec<f32> = x.iter().map(|v| v * 1.5 + 0.25).collect();
        let mut d = vec![f32::NAN; 3 * w];
        relu_grad(&mut d, &gr, &x, Some(&m));
        for i in 0..3 * w {
            assert_eq!(d[i], if x[i] > 0.0 { gr[i] * m[i] } else { 0.0 });
        }
        relu_grad(&mut d, &gr, &x, None);
        for i in 0..3 * w {
            assert_eq!(d[i], if x[i] > 0.0 { gr[i] } else { 0.0 });
        }
        // Dropout from 16-bit draws: the boundary draw is kept.
        let draws: Vec<u16> = (0..3 * w).map(|i| (i * 1811 % 65_536) as u16).collect();
        let mut mask = vec![f32::NAN; 3 * w];
        dropout_mask(&mut mask, &draws, draws[5], 2.0);
        for i in 0..3 * w {
            assert_eq!(mask[i], if draws[i] < draws[5] { 0.0 } else { 2.0 });
        }
        assert_eq!(mask[5], 2.0);
    }
}
