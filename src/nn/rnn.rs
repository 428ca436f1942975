//! GRU and LSTM layers (one or two directions) over packed batches, as ONE autograd node.
//!
//! candle-nn's cells run a step as a dozen small ops, each with its own allocation and
//! backward node: a 256-token batch is thousands of nodes, and its padding is computed too.
//! Here the batch is packed as PyTorch's `PackedSequence` ([`Packed`]: rows longest first,
//! tokens stored step after step, only real tokens), the input part of every gate is computed
//! before the scan for all tokens at once (one matmul by the caller: `xp = x · W_ih + b_ih`),
//! and [`scan`] runs only the recurrent part step by step over the rows that still have a
//! token: per step one `gemm` (`h · W_hh`) into a buffer holding the bias, then one pass of
//! [`kernels::gru_step`] / [`kernels::lstm_step`]. Its hand-written backward (BPTT) runs the
//! steps in reverse, two `gemm`s per step (the previous state's and the weights' gradients).
//! The two directions run on two threads. The reverse direction starts each row at its last
//! token, so a row's states never depend on the other rows of its batch.
//!
//! Layouts: `xp` is `N × (D·G)` (`N` tokens in packed order, `D` directions) with `G = 3H`
//! (GRU: `[r | z | n]`) or `4H` (LSTM: `[i | f | g | o]`), PyTorch's gate orders; `w_hh` is
//! `D × H × G`, `b_hh` is `D × G`; the output is every token's state, `N × (D·H)` (forward
//! direction first). [`packed_pool`] turns it into one vector per row (max or mean).
//!
//! [`scan_reference`] / [`packed_pool_reference`] are the same computations in plain candle
//! ops: the fallback on non-CPU devices, and what the tests compare values and gradients
//! against.

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor, TensorId};
use serde::{Deserialize, Serialize};

use crate::nn::fused::{gemm_into, slice, supported, with_values};
use crate::nn::kernels;
use crate::train::GradSink;

/// The recurrent cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    /// Gated recurrent unit (3 gates).
    Gru,
    /// Long short-term memory (4 gates).
    Lstm,
}

impl Cell {
    /// Gates per hidden unit.
    pub fn gates(self) -> usize {
        match self {
            Cell::Gru => 3,
            Cell::Lstm => 4,
        }
    }

    /// `gru` or `lstm`.
    pub fn name(self) -> &'static str {
        match self {
            Cell::Gru => "gru",
            Cell::Lstm => "lstm",
        }
    }
}

/// The packed layout of a batch (PyTorch's `PackedSequence`): rows sorted by length,
/// longest first, so the rows that have a token at step `t` are the first `sizes[t]`; the
/// tokens are stored step after step, `offsets[t] + b` for row `b < sizes[t]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// Rows with a token at each step (non-increasing, all ≥ 1).
    pub sizes: Vec<usize>,
    /// First token of each step.
    pub offsets: Vec<usize>,
    /// Tokens.
    pub n: usize,
}

impl Packed {
    /// The layout of rows with these lengths, longest first (each ≥ 1).
    pub fn from_lengths(lens: &[usize]) -> candle_core::Result<Packed> {
        if lens.windows(2).any(|w| w[0] < w[1]) || lens.contains(&0) {
            candle_core::bail!("packed batch: lengths must be ≥ 1 and sorted longest first");
        }
        let steps = lens.first().copied().unwrap_or(0);
        let mut sizes = Vec::with_capacity(steps);
        let mut offsets = Vec::with_capacity(steps);
        let mut n = 0;
        for t in 0..steps {
            let k = lens.iter().take_while(|&&l| l > t).count();
            offsets.push(n);
            sizes.push(k);
            n += k;
        }
        Ok(Packed { sizes, offsets, n })
    }

    /// Steps (the longest row's length).
    pub fn steps(&self) -> usize {
        self.sizes.len()
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.sizes.first().copied().unwrap_or(0)
    }

    /// Rows with a token at step `t` (0 past the last step).
    fn size(&self, t: usize) -> usize {
        self.sizes.get(t).copied().unwrap_or(0)
    }
}

/// Sizes of one scan.
#[derive(Debug, Clone, Copy)]
struct Dims {
    h: usize,
    d: usize,
    g: usize,
}

/// Buffers of finished scans, reused by the next ones. A training step of a 256-token batch
/// fills and frees a few hundred megabytes of gates and gradients; fresh allocations of that
/// size cost a page fault per 4 KB (and glibc's `calloc` zeroes heap memory), which took a
/// fifth of a step. Every buffer taken is fully overwritten before it is read, so a reused one
/// is not zeroed. At most [`POOL_BYTES`] are kept.
static POOL: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());
/// The most the pool keeps (bytes).
const POOL_BYTES: usize = 768 << 20;

/// A buffer of `n` values, from the pool when one is large enough. Its values are arbitrary:
/// the caller writes every one before reading it.
fn take(n: usize) -> Vec<f32> {
    let reused = {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        let best = pool
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= n)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        best.map(|i| pool.swap_remove(i))
    };
    match reused {
        Some(mut v) => {
            if v.len() >= n {
                v.truncate(n);
            } else {
                v.resize(n, 0.0);
            }
            v
        }
        None => vec![0.0; n],
    }
}

/// Returns `v` to the pool (dropped when the pool is full).
fn give(v: Vec<f32>) {
    if v.capacity() == 0 {
        return;
    }
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let held: usize = pool.iter().map(|b| b.capacity() * 4).sum();
    if held + v.capacity() * 4 <= POOL_BYTES {
        pool.push(v);
    }
}

/// What one direction's forward keeps for its backward.
#[derive(Debug, Default)]
struct DirCache {
    /// States, `N × H` (packed order).
    out: Vec<f32>,
    /// Activated gates, `N × G`.
    gates: Vec<f32>,
    /// GRU: the recurrent n pre-activation; LSTM: tanh of the new cell (`N × H`).
    aux: Vec<f32>,
    /// LSTM: the cells, `N × H`; empty for a GRU.
    cells: Vec<f32>,
}

impl Drop for DirCache {
    fn drop(&mut self) {
        for v in [
            std::mem::take(&mut self.out),
            std::mem::take(&mut self.gates),
            std::mem::take(&mut self.aux),
            std::mem::take(&mut self.cells),
        ] {
            give(v);
        }
    }
}

fn forward_dir(
    cell: Cell,
    dm: Dims,
    dir: usize,
    pk: &Packed,
    xp: &[f32],
    w: &[f32],
    b: &[f32],
) -> DirCache {
    let Dims { h, d, g } = dm;
    let n = pk.n;
    let rev = dir == 1;
    let w_d = &w[dir * h * g..(dir + 1) * h * g];
    let b_d = &b[dir * g..(dir + 1) * g];
    let nb = pk.rows();
    let mut c = DirCache {
        out: take(n * h),
        gates: take(n * g),
        aux: take(n * h),
        cells: if cell == Cell::Lstm {
            take(n * h)
        } else {
            Vec::new()
        },
    };
    // Rows start at zero: the forward direction at step 0, the reverse one at its last token
    // (rows not yet reached keep their zeros).
    let mut state = vec![0.0f32; nb * h];
    let mut cstate = vec![0.0f32; if cell == Cell::Lstm { nb * h } else { 0 }];
    let mut gh = vec![0.0f32; nb * g];
    let steps = pk.steps();
    for s in 0..steps {
        let t = if rev { steps - 1 - s } else { s };
        let (k, o) = (pk.sizes[t], pk.offsets[t]);
        let ghk = &mut gh[..k * g];
        kernels::fill_bias(ghk, b_d, None);
        if s > 0 {
            gemm_into(ghk, k, g, h, true, &state[..k * h], (h, 1), w_d, (g, 1));
        }
        for bi in 0..k {
            let row = o + bi;
            let x = &xp[row * d * g + dir * g..][..g];
            let ghr = &mut ghk[bi * g..(bi + 1) * g];
            let hp = &state[bi * h..(bi + 1) * h];
            let gates = &mut c.gates[row * g..(row + 1) * g];
            let aux = &mut c.aux[row * h..(row + 1) * h];
            let hout = &mut c.out[row * h..(row + 1) * h];
            match cell {
                Cell::Gru => kernels::gru_step(x, ghr, hp, 1.0, gates, aux, hout),
                Cell::Lstm => {
                    ghr.iter_mut().zip(x).for_each(|(a, &x)| *a += x);
                    let cp = &cstate[bi * h..(bi + 1) * h];
                    let cout = &mut c.cells[row * h..(row + 1) * h];
                    kernels::lstm_step(ghr, hp, cp, 1.0, gates, aux, hout, cout);
                }
            }
        }
        state[..k * h].copy_from_slice(&c.out[o * h..(o + k) * h]);
        if cell == Cell::Lstm {
            cstate[..k * h].copy_from_slice(&c.cells[o * h..(o + k) * h]);
        }
    }
    c
}

/// Gradients of one direction: input pre-activations (`N × G`), `W_hh` (`H × G`), `b_hh`.
struct DirGrads {
    dxp: Vec<f32>,
    dw: Vec<f32>,
    db: Vec<f32>,
}

/// The `zeros.len()` values of `buf` from `at`, or `zeros` (a row's state before its first step).
fn row_or<'a>(buf: &'a [f32], zeros: &'a [f32], at: Option<usize>) -> &'a [f32] {
    match at {
        Some(i) => &buf[i..i + zeros.len()],
        None => zeros,
    }
}

fn backward_dir(
    cell: Cell,
    dm: Dims,
    dir: usize,
    pk: &Packed,
    c: &DirCache,
    w: &[f32],
    gout: &[f32],
) -> DirGrads {
    let Dims { h, d, g } = dm;
    let n = pk.n;
    let rev = dir == 1;
    let w_d = &w[dir * h * g..(dir + 1) * h * g];
    let nb = pk.rows();
    let zeros = vec![0.0f32; h];
    let mut dh = vec![0.0f32; nb * h];
    let mut dc = vec![0.0f32; if cell == Cell::Lstm { nb * h } else { 0 }];
    let mut dxp = take(n * g);
    // The recurrent part's pre-activation gradients (a GRU's differ from the input part's in
    // n; an LSTM's are the same, kept in `dxp`).
    let mut dgh = if cell == Cell::Gru {
        take(n * g)
    } else {
        Vec::new()
    };
    let mut dw = vec![0.0f32; h * g];
    let steps = pk.steps();
    // Scan steps in reverse: s = steps−1 … 0, step s at time t; the previous scan step's time
    // `tp` holds the state this step started from, for the first `kp` rows (the others
    // started from zero).
    for s in (0..steps).rev() {
        let t = if rev { steps - 1 - s } else { s };
        let (k, o) = (pk.sizes[t], pk.offsets[t]);
        let prev = match (s, rev) {
            (0, _) => None,
            (_, false) => Some(t - 1),
            (_, true) => Some(t + 1),
        };
        let (kp, op) = prev.map_or((0, 0), |p| (pk.size(p).min(k), pk.offsets[p]));
        for bi in 0..k {
            let row = o + bi;
            // Where row `bi`'s previous state (and cell) start, when it had one.
            let prev = (bi < kp).then_some((op + bi) * h);
            let go = &gout[row * d * h + dir * h..][..h];
            let dhr = &mut dh[bi * h..(bi + 1) * h];
            dhr.iter_mut().zip(go).for_each(|(a, &g)| *a += g);
            let gates = &c.gates[row * g..(row + 1) * g];
            let aux = &c.aux[row * h..(row + 1) * h];
            let da = &mut dxp[row * g..(row + 1) * g];
            match cell {
                Cell::Gru => {
                    let dg = &mut dgh[row * g..(row + 1) * g];
                    kernels::gru_step_back(
                        gates,
                        aux,
                        row_or(&c.out, &zeros, prev),
                        1.0,
                        dhr,
                        da,
                        dg,
                    );
                }
                Cell::Lstm => {
                    let dcr = &mut dc[bi * h..(bi + 1) * h];
                    let cp = row_or(&c.cells, &zeros, prev);
                    kernels::lstm_step_back(gates, aux, cp, 1.0, dhr, dcr, da);
                }
            }
        }
        if kp > 0 {
            let dg_t = match cell {
                Cell::Gru => &dgh[o * g..(o + kp) * g],
                Cell::Lstm => &dxp[o * g..(o + kp) * g],
            };
            // dh_prev += dgh_t · W_hhᵀ, and dW += h_prevᵀ · dgh_t (rows with a previous state).
            gemm_into(&mut dh[..kp * h], kp, h, g, true, dg_t, (g, 1), w_d, (1, g));
            gemm_into(
                &mut dw,
                h,
                g,
                kp,
                true,
                &c.out[op * h..],
                (1, h),
                dg_t,
                (g, 1),
            );
        }
    }
    let dg_all: &[f32] = match cell {
        Cell::Gru => &dgh,
        Cell::Lstm => &dxp,
    };
    let mut db = vec![0.0f32; g];
    for r in dg_all.chunks_exact(g) {
        db.iter_mut().zip(r).for_each(|(a, &v)| *a += v);
    }
    give(dgh);
    DirGrads { dxp, dw, db }
}

/// Runs `f` for each direction, the two of a bidirectional layer on two threads.
fn per_dir<R: Send>(d: usize, f: impl Fn(usize) -> R + Sync) -> Vec<R> {
    if d == 2 {
        let (a, b) = rayon::join(|| f(0), || f(1));
        vec![a, b]
    } else {
        (0..d).map(&f).collect()
    }
}

/// The scan as a candle op (see the module doc).
#[derive(Debug, Clone)]
struct Scan {
    cell: Cell,
    packed: Arc<Packed>,
    keep: bool,
    cache: Arc<Mutex<Option<Vec<DirCache>>>>,
    sink: Option<(GradSink, TensorId, TensorId)>,
}

fn dims(cell: Cell, n: usize, xp: &Shape, w: &Shape, b: &Shape) -> candle_core::Result<Dims> {
    let (rows, dg) = xp.dims2()?;
    let (d, h, g) = w.dims3()?;
    let (d2, g2) = b.dims2()?;
    if g != cell.gates() * h || dg != d * g || d2 != d || g2 != g || !(1..=2).contains(&d) {
        candle_core::bail!(
            "rnn scan ({}): x {:?}, W_hh {:?}, b_hh {:?} do not fit (W_hh must be D × H × {}H)",
            cell.name(),
            xp.dims(),
            w.dims(),
            b.dims(),
            cell.gates()
        );
    }
    if rows != n {
        candle_core::bail!("rnn scan: {rows} rows of input for a packed batch of {n} tokens");
    }
    Ok(Dims { h, d, g })
}

fn lock<T>(m: &Mutex<T>) -> candle_core::Result<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| candle_core::Error::Msg("rnn scan: lock".into()))
}

impl Scan {
    fn run(&self, dm: Dims, xp: &[f32], w: &[f32], b: &[f32]) -> Vec<DirCache> {
        per_dir(dm.d, |dir| {
            forward_dir(self.cell, dm, dir, &self.packed, xp, w, b)
        })
    }
}

impl CustomOp3 for Scan {
    fn name(&self) -> &'static str {
        "rnn-scan"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let dm = dims(self.cell, self.packed.n, l1.shape(), l2.shape(), l3.shape())?;
        let (xp, w, b) = (
            slice(s1, l1, "x")?,
            slice(s2, l2, "W_hh")?,
            slice(s3, l3, "b_hh")?,
        );
        let caches = self.run(dm, xp, w, b);
        let Dims { h, d, .. } = dm;
        let n = self.packed.n;
        let out = if d == 1 {
            caches[0].out[..n * h].to_vec()
        } else {
            let mut out = vec![0.0f32; n * d * h];
            for (dir, c) in caches.iter().enumerate() {
                for (row, src) in c.out.chunks_exact(h).enumerate() {
                    out[row * d * h + dir * h..][..h].copy_from_slice(src);
                }
            }
            out
        };
        if self.keep {
            *lock(&self.cache)? = Some(caches);
        }
        Ok((CpuStorage::F32(out), Shape::from((n, d * h))))
    }

    fn bwd(
        &self,
        xp: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let n = self.packed.n;
        let dm = dims(self.cell, n, xp.shape(), w.shape(), b.shape())?;
        let Dims { h, d, g } = dm;
        // Kept by a training forward; recomputed after an inference one (gradient checks).
        let kept = lock(&self.cache)?.take();
        let caches = match kept {
            Some(c) => c,
            None => with_values(xp, |x| {
                with_values(w, |wv| with_values(b, |bv| Ok(self.run(dm, x, wv, bv))))
            })?,
        };
        let grads = with_values(w, |wv| {
            with_values(grad, |gout| {
                Ok(per_dir(d, |dir| {
                    backward_dir(self.cell, dm, dir, &self.packed, &caches[dir], wv, gout)
                }))
            })
        })?;
        drop(caches);
        let mut dw = Vec::with_capacity(d * h * g);
        let mut db = Vec::with_capacity(d * g);
        for gr in &grads {
            dw.extend_from_slice(&gr.dw);
            db.extend_from_slice(&gr.db);
        }
        let dxp = if d == 1 {
            grads
                .into_iter()
                .next()
                .map(|gr| gr.dxp)
                .unwrap_or_default()
        } else {
            let mut dxp = vec![0.0f32; n * d * g];
            for (dir, gr) in grads.into_iter().enumerate() {
                for (row, src) in gr.dxp.chunks_exact(g).enumerate() {
                    dxp[row * d * g + dir * g..][..g].copy_from_slice(src);
                }
                give(gr.dxp);
            }
            dxp
        };
        let dev = xp.device();
        let dxp = Tensor::from_vec(dxp, (n, d * g), dev)?;
        let dw = Tensor::from_vec(dw, (d, h, g), dev)?;
        let db = Tensor::from_vec(db, (d, g), dev)?;
        match &self.sink {
            Some((sink, w_id, b_id)) => {
                sink.push(*w_id, dw)?;
                sink.push(*b_id, db)?;
                Ok((Some(dxp), None, None))
            }
            None => Ok((Some(dxp), Some(dw), Some(db))),
        }
    }
}

/// Every token's state of a GRU / LSTM layer over a packed batch (see the module doc): `xp`
/// the input pre-activations `N × (D·G)` in `packed` order, `w_hh` `D × H × G`, `b_hh`
/// `D × G`; returns `N × (D·H)`. `train` keeps what the backward needs (else a backward
/// recomputes it); with a `sink` the gradients of `w_hh` and `b_hh` go there (see
/// [`GradSink`]). On devices other than the CPU it runs [`scan_reference`].
pub fn scan(
    xp: &Tensor,
    w_hh: &Tensor,
    b_hh: &Tensor,
    packed: &Arc<Packed>,
    cell: Cell,
    train: bool,
    sink: Option<&GradSink>,
) -> candle_core::Result<Tensor> {
    if !supported(xp) {
        return scan_reference(xp, w_hh, b_hh, packed, cell);
    }
    let op = Scan {
        cell,
        packed: packed.clone(),
        keep: train,
        cache: Arc::new(Mutex::new(None)),
        sink: sink.map(|s| (s.clone(), w_hh.id(), b_hh.id())),
    };
    xp.contiguous()?
        .apply_op3(&w_hh.contiguous()?, &b_hh.contiguous()?, op)
}

/// How the tokens' states of each row become one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduce {
    /// Element-wise maximum over the row's tokens.
    Max,
    /// Mean over the row's tokens.
    Mean,
}

/// Max or mean over each row's tokens of a packed `N × C` tensor, as one op.
#[derive(Debug, Clone)]
struct PackedPool {
    packed: Arc<Packed>,
    reduce: Reduce,
    /// Max: the token of each maximum.
    arg: Arc<Mutex<Vec<u32>>>,
}

impl candle_core::CustomOp1 for PackedPool {
    fn name(&self) -> &'static str {
        "packed-pool"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, c) = l.shape().dims2()?;
        let pk = &self.packed;
        if n != pk.n {
            candle_core::bail!(
                "packed pool: {n} rows for a packed batch of {} tokens",
                pk.n
            );
        }
        let x = slice(s, l, "states")?;
        let nb = pk.rows();
        let mut out = vec![
            match self.reduce {
                Reduce::Max => f32::NEG_INFINITY,
                Reduce::Mean => 0.0,
            };
            nb * c
        ];
        let mut arg = vec![
            0u32;
            if self.reduce == Reduce::Max {
                nb * c
            } else {
                0
            }
        ];
        let mut lens = vec![0.0f32; nb];
        for (&k, &o) in pk.sizes.iter().zip(&pk.offsets) {
            for b in 0..k {
                let row = &x[(o + b) * c..(o + b + 1) * c];
                let dst = &mut out[b * c..(b + 1) * c];
                match self.reduce {
                    Reduce::Max => {
                        let a = &mut arg[b * c..(b + 1) * c];
                        for j in 0..c {
                            if row[j] > dst[j] {
                                dst[j] = row[j];
                                a[j] = (o + b) as u32;
                            }
                        }
                    }
                    Reduce::Mean => {
                        dst.iter_mut().zip(row).for_each(|(d, &v)| *d += v);
                        lens[b] += 1.0;
                    }
                }
            }
        }
        if self.reduce == Reduce::Mean {
            for (r, &l) in out.chunks_exact_mut(c).zip(&lens) {
                r.iter_mut().for_each(|v| *v /= l.max(1.0));
            }
        } else {
            *lock(&self.arg)? = arg;
        }
        Ok((CpuStorage::F32(out), Shape::from((nb, c))))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let (n, c) = x.dims2()?;
        let pk = &self.packed;
        let mut dx = vec![0.0f32; n * c];
        with_values(grad, |g| {
            match self.reduce {
                Reduce::Max => {
                    let arg = lock(&self.arg)?;
                    for (i, (&a, &gv)) in arg.iter().zip(g).enumerate() {
                        dx[a as usize * c + i % c] = gv;
                    }
                }
                Reduce::Mean => {
                    let nb = pk.rows();
                    let lens: Vec<usize> = (0..nb)
                        .map(|b| pk.sizes.iter().take_while(|&&k| k > b).count())
                        .collect();
                    for (&k, &o) in pk.sizes.iter().zip(&pk.offsets) {
                        for b in 0..k {
                            let inv = 1.0 / lens[b] as f32;
                            dx[(o + b) * c..(o + b + 1) * c]
                                .iter_mut()
                                .zip(&g[b * c..(b + 1) * c])
                                .for_each(|(d, &gv)| *d = gv * inv);
                        }
                    }
                }
            }
            Ok(())
        })?;
        Ok(Some(Tensor::from_vec(dx, (n, c), x.device())?))
    }
}

/// Max or mean over each row's tokens of the packed states `hs` (`N × C`): `B × C`, rows in
/// the packed (longest-first) order. One op on the CPU (the max's backward sends each
/// gradient to the token that held the maximum), plain candle ops elsewhere.
pub fn packed_pool(
    hs: &Tensor,
    packed: &Arc<Packed>,
    reduce: Reduce,
) -> candle_core::Result<Tensor> {
    if !supported(hs) {
        return packed_pool_reference(hs, packed, reduce);
    }
    let op = PackedPool {
        packed: packed.clone(),
        reduce,
        arg: Arc::new(Mutex::new(Vec::new())),
    };
    hs.contiguous()?.apply_op1(op)
}

/// [`packed_pool`] in plain candle ops (a gather per row).
pub fn packed_pool_reference(
    hs: &Tensor,
    packed: &Packed,
    reduce: Reduce,
) -> candle_core::Result<Tensor> {
    let mut rows = Vec::with_capacity(packed.rows());
    for b in 0..packed.rows() {
        let idx: Vec<u32> = packed
            .sizes
            .iter()
            .zip(&packed.offsets)
            .take_while(|(&k, _)| k > b)
            .map(|(_, &o)| (o + b) as u32)
            .collect();
        let l = idx.len();
        let t = hs.index_select(&Tensor::from_vec(idx, l, hs.device())?, 0)?;
        rows.push(match reduce {
            Reduce::Max => t.max_keepdim(0)?,
            Reduce::Mean => t.mean_keepdim(0)?,
        });
    }
    Tensor::cat(&rows, 0)
}

/// [`scan`] in plain candle ops, step by step.
pub fn scan_reference(
    xp: &Tensor,
    w_hh: &Tensor,
    b_hh: &Tensor,
    packed: &Packed,
    cell: Cell,
) -> candle_core::Result<Tensor> {
    let sigmoid = |x: &Tensor| -> candle_core::Result<Tensor> { (x.neg()?.exp()? + 1.0)?.recip() };
    let (nd, h, g) = w_hh.dims3()?;
    let nb = packed.rows();
    let steps = packed.steps();
    let mut dirs = Vec::with_capacity(nd);
    for dir in 0..nd {
        let w = w_hh.get(dir)?;
        let b = b_hh.get(dir)?;
        let mut hs = Tensor::zeros((nb, h), xp.dtype(), xp.device())?;
        let mut cs = hs.clone();
        let mut outs: Vec<Option<Tensor>> = vec![None; steps];
        for s in 0..steps {
            let t = if dir == 1 { steps - 1 - s } else { s };
            let (k, o) = (packed.sizes[t], packed.offsets[t]);
            let x = xp.narrow(0, o, k)?.narrow(1, dir * g, g)?;
            let hk = hs.narrow(0, 0, k)?;
            let ck = cs.narrow(0, 0, k)?;
            let gh = hk.matmul(&w)?.broadcast_add(&b)?;
            let part = |x: &Tensor, i: usize| x.narrow(1, i * h, h);
            let (new_h, new_c) = match cell {
                Cell::Gru => {
                    let r = sigmoid(&(part(&x, 0)? + part(&gh, 0)?)?)?;
                    let z = sigmoid(&(part(&x, 1)? + part(&gh, 1)?)?)?;
                    let n = (part(&x, 2)? + r.mul(&part(&gh, 2)?)?)?.tanh()?;
                    ((&n + z.mul(&(&hk - &n)?)?)?, None)
                }
                Cell::Lstm => {
                    let a = (&x + &gh)?;
                    let i = sigmoid(&part(&a, 0)?)?;
                    let f = sigmoid(&part(&a, 1)?)?;
                    let gg = part(&a, 2)?.tanh()?;
                    let o = sigmoid(&part(&a, 3)?)?;
                    let cn = (f.mul(&ck)? + i.mul(&gg)?)?;
                    (o.mul(&cn.tanh()?)?, Some(cn))
                }
            };
            let keep = |old: &Tensor, new: Tensor| -> candle_core::Result<Tensor> {
                if k == nb {
                    Ok(new)
                } else {
                    Tensor::cat(&[&new, &old.narrow(0, k, nb - k)?], 0)
                }
            };
            hs = keep(&hs, new_h.clone())?;
            if let Some(cn) = new_c {
                cs = keep(&cs, cn)?;
            }
            outs[t] = Some(new_h);
        }
        let outs: Vec<Tensor> = outs.into_iter().flatten().collect();
        dirs.push(Tensor::cat(&outs, 0)?);
    }
    Tensor::cat(&dirs, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    #[test]
    fn packed_layout_of_lengths() {
        let p = Packed::from_lengths(&[3, 2, 2, 1]).unwrap();
        assert_eq!(p.sizes, vec![4, 3, 1]);
        assert_eq!(p.offsets, vec![0, 4, 7]);
        assert_eq!((p.n, p.rows(), p.steps()), (8, 4, 3));
        assert!(Packed::from_lengths(&[1, 2]).is_err());
        assert!(Packed::from_lengths(&[2, 0]).is_err());
    }

    #[test]
    fn scan_matches_candle_ops_in_values_and_every_gradient() {
        let dev = Device::Cpu;
        let h = 4;
        let packed = Arc::new(Packed::from_lengths(&[5, 3, 3, 1]).unwrap());
        for cell in [Cell::Gru, Cell::Lstm] {
            for d in [1, 2] {
                let g = cell.gates() * h;
                let xp = Var::randn(0f32, 1., (packed.n, d * g), &dev).unwrap();
                let w = Var::randn(0f32, 0.5, (d, h, g), &dev).unwrap();
                let b = Var::randn(0f32, 0.5, (d, g), &dev).unwrap();
                let ours = scan(&xp, &w, &b, &packed, cell, true, None).unwrap();
                let theirs = scan_reference(&xp, &w, &b, &packed, cell).unwrap();
                assert_eq!(ours.dims(), &[packed.n, d * h]);
                let dv = max_diff(&ours, &theirs);
                assert!(dv < 1e-5, "{cell:?} d={d}: values differ by {dv}");
                let c = Tensor::randn(0f32, 1., (packed.n, d * h), &dev).unwrap();
                let g1 = ours.mul(&c).unwrap().sum_all().unwrap().backward().unwrap();
                let g2 = theirs
                    .mul(&c)
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap();
                for (name, v) in [("x", &xp), ("W_hh", &w), ("b_hh", &b)] {
                    let a = g1.get(v.as_tensor()).unwrap();
                    let e = g2.get(v.as_tensor()).unwrap();
                    let dg = max_diff(a, e);
                    assert!(
                        dg < 1e-4,
                        "{cell:?} d={d}: gradient of {name} differs by {dg}"
                    );
                }
                // An inference forward, then a backward: recomputed, same gradients.
                let again = scan(&xp, &w, &b, &packed, cell, false, None).unwrap();
                let g3 = again
                    .mul(&c)
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap();
                assert!(max_diff(g3.get(&w).unwrap(), g1.get(&w).unwrap()) < 1e-6);
            }
        }
    }

    #[test]
    fn packed_pool_matches_candle_ops_in_values_and_gradient() {
        let dev = Device::Cpu;
        let packed = Arc::new(Packed::from_lengths(&[6, 4, 2]).unwrap());
        let hs = Var::randn(0f32, 1., (packed.n, 5), &dev).unwrap();
        let w = Tensor::randn(0f32, 1., (3, 5), &dev).unwrap();
        for reduce in [Reduce::Max, Reduce::Mean] {
            let ours = packed_pool(&hs, &packed, reduce).unwrap();
            let theirs = packed_pool_reference(&hs, &packed, reduce).unwrap();
            assert!(max_diff(&ours, &theirs) < 1e-6, "{reduce:?}");
            let g1 = ours.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
            let g2 = theirs
                .mul(&w)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            assert!(
                max_diff(g1.get(&hs).unwrap(), g2.get(&hs).unwrap()) < 1e-6,
                "{reduce:?}"
            );
        }
    }

    #[test]
    fn a_row_has_the_same_states_alone_and_in_a_batch() {
        let dev = Device::Cpu;
        let h = 3;
        for cell in [Cell::Gru, Cell::Lstm] {
            let g = cell.gates() * h;
            let w = Tensor::randn(0f32, 0.5, (2, h, g), &dev).unwrap();
            let b = Tensor::randn(0f32, 0.5, (2, g), &dev).unwrap();
            // Row 1 (3 tokens) of a batch with lengths 6, 3, 2, and the same row alone.
            let batch = Arc::new(Packed::from_lengths(&[6, 3, 2]).unwrap());
            let xp = Tensor::randn(0f32, 1., (batch.n, 2 * g), &dev).unwrap();
            let rows: Vec<u32> = (0..3).map(|t| (batch.offsets[t] + 1) as u32).collect();
            let mine = xp
                .index_select(&Tensor::new(rows.as_slice(), &dev).unwrap(), 0)
                .unwrap();
            let alone = Arc::new(Packed::from_lengths(&[3]).unwrap());
            let a = scan(&mine, &w, &b, &alone, cell, false, None).unwrap();
            let all = scan(&xp, &w, &b, &batch, cell, false, None).unwrap();
            let at = all
                .index_select(&Tensor::new(rows.as_slice(), &dev).unwrap(), 0)
                .unwrap();
            assert!(max_diff(&a, &at) < 1e-6, "{cell:?}");
        }
    }
}
