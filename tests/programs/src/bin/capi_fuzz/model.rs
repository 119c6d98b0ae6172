//! The fuzz driver's reference model: dtypes and element values, array storage shared by views,
//! NumPy's slicing, indexing, broadcasting and reshaping rules, written independently of
//! distarr.
//!
//! Values are kept exactly: every element the model knows is an integer (`i128`) that the
//! element's dtype holds exactly (floats and complex numbers hold integral values with a zero
//! imaginary part). Operations whose result the model cannot know exactly mark elements
//! unknown (`None`); an unknown element is never compared.

/// The ten dtypes, in `DISTARR_DTYPE_*` code order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dt {
    Bool,
    I32,
    I64,
    U8,
    U32,
    U64,
    F32,
    F64,
    C64,
    C128,
}

pub const ALL: [Dt; 10] = [
    Dt::Bool,
    Dt::I32,
    Dt::I64,
    Dt::U8,
    Dt::U32,
    Dt::U64,
    Dt::F32,
    Dt::F64,
    Dt::C64,
    Dt::C128,
];

/// Largest magnitude the model keeps for float values (beyond it a value is unknown), so that
/// sums of a few hundred elements stay exact in float32's 24-bit significand only when the
/// model says so (see `sum_exact`).
const FLOAT_KEEP: i128 = 1 << 40;

impl Dt {
    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn from_code(c: i32) -> Option<Dt> {
        usize::try_from(c).ok().and_then(|i| ALL.get(i).copied())
    }

    pub fn size(self) -> usize {
        match self {
            Dt::Bool | Dt::U8 => 1,
            Dt::I32 | Dt::U32 | Dt::F32 => 4,
            Dt::I64 | Dt::U64 | Dt::F64 | Dt::C64 => 8,
            Dt::C128 => 16,
        }
    }

    pub fn is_int(self) -> bool {
        matches!(self, Dt::I32 | Dt::I64 | Dt::U8 | Dt::U32 | Dt::U64)
    }

    pub fn is_signed(self) -> bool {
        matches!(self, Dt::I32 | Dt::I64)
    }

    pub fn is_float(self) -> bool {
        matches!(self, Dt::F32 | Dt::F64)
    }

    pub fn is_complex(self) -> bool {
        matches!(self, Dt::C64 | Dt::C128)
    }

    /// Bits of an integer dtype.
    fn bits(self) -> u32 {
        (self.size() * 8) as u32
    }

    /// The value of dtype `self` that the exact integer `v` becomes when stored (NumPy's
    /// conversion from an integer, i.e. C's): integers wrap, bool is `v != 0`, floats round to
    /// nearest. `None` when the model cannot keep it (a float too large).
    pub fn store(self, v: i128) -> Option<i128> {
        Some(match self {
            Dt::Bool => i128::from(v != 0),
            Dt::U8 | Dt::U32 | Dt::U64 => v.rem_euclid(1i128 << self.bits()),
            Dt::I32 | Dt::I64 => {
                let m = 1i128 << self.bits();
                let w = v.rem_euclid(m);
                if w >= m / 2 {
                    w - m
                } else {
                    w
                }
            }
            Dt::F32 | Dt::C64 => {
                if v.abs() > FLOAT_KEEP {
                    return None;
                }
                (v as f32) as i128
            }
            Dt::F64 | Dt::C128 => {
                if v.abs() > FLOAT_KEEP {
                    return None;
                }
                (v as f64) as i128
            }
        })
    }

    /// The value of dtype `self` that a value `v` of dtype `from` becomes under `astype`
    /// (NumPy's unsafe cast), or `None` where NumPy's result is platform-defined (a float
    /// out of an integer type's range, a negative float to an unsigned type) or not an
    /// integer the model keeps (complex to real drops the imaginary part, which is zero here,
    /// but NumPy warns: the model does not rely on it).
    pub fn cast_from(self, from: Dt, v: i128) -> Option<i128> {
        if from.is_complex() && !self.is_complex() {
            return None;
        }
        if (from.is_float() || from.is_complex()) && self.is_int() {
            let lo = if self.is_signed() {
                -(1i128 << (self.bits() - 1))
            } else {
                0
            };
            let hi = if self.is_signed() {
                (1i128 << (self.bits() - 1)) - 1
            } else {
                (1i128 << self.bits()) - 1
            };
            if v < lo || v > hi {
                return None;
            }
        }
        self.store(v)
    }

    /// Little-endian bytes of the value `v` (already stored in this dtype).
    pub fn encode(self, v: i128) -> Vec<u8> {
        match self {
            Dt::Bool | Dt::U8 => vec![v as u8],
            Dt::I32 => (v as i32).to_le_bytes().to_vec(),
            Dt::U32 => (v as u32).to_le_bytes().to_vec(),
            Dt::I64 => (v as i64).to_le_bytes().to_vec(),
            Dt::U64 => (v as u64).to_le_bytes().to_vec(),
            Dt::F32 => (v as f32).to_le_bytes().to_vec(),
            Dt::F64 => (v as f64).to_le_bytes().to_vec(),
            Dt::C64 => [(v as f32).to_le_bytes(), 0f32.to_le_bytes()].concat(),
            Dt::C128 => [(v as f64).to_le_bytes(), 0f64.to_le_bytes()].concat(),
        }
    }

    /// The bytes of one element as the model's value: `Err` with a description when they do not
    /// hold an integer the model could have stored (a fraction, NaN, a non-zero imaginary part).
    pub fn decode(self, b: &[u8]) -> Result<i128, String> {
        let f = |x: f64| {
            if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e30 {
                Ok(x as i128)
            } else {
                Err(format!("{x}"))
            }
        };
        let f4 = |k: usize| f32::from_le_bytes(b[k..k + 4].try_into().expect("4 bytes"));
        let f8 = |k: usize| f64::from_le_bytes(b[k..k + 8].try_into().expect("8 bytes"));
        match self {
            Dt::Bool => match b[0] {
                0 | 1 => Ok(i128::from(b[0])),
                x => Err(format!("bool byte {x}")),
            },
            Dt::U8 => Ok(i128::from(b[0])),
            Dt::I32 => Ok(i128::from(i32::from_le_bytes(b[..4].try_into().expect("4")))),
            Dt::U32 => Ok(i128::from(u32::from_le_bytes(b[..4].try_into().expect("4")))),
            Dt::I64 => Ok(i128::from(i64::from_le_bytes(b[..8].try_into().expect("8")))),
            Dt::U64 => Ok(i128::from(u64::from_le_bytes(b[..8].try_into().expect("8")))),
            Dt::F32 => f(f64::from(f4(0))),
            Dt::F64 => f(f8(0)),
            Dt::C64 => match f4(4) {
                0.0 => f(f64::from(f4(0))),
                im => Err(format!("{} + {im}j", f4(0))),
            },
            Dt::C128 => match f8(8) {
                0.0 => f(f8(0)),
                im => Err(format!("{} + {im}j", f8(0))),
            },
        }
    }
}

/// `a` and `b` broadcast together (NumPy), or `None`.
pub fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for k in 0..n {
        let x = if k + a.len() >= n { a[k + a.len() - n] } else { 1 };
        let y = if k + b.len() >= n { b[k + b.len() - n] } else { 1 };
        out[k] = match (x, y) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Number of elements (saturating: only non-empty shapes are ever iterated).
pub fn size(shape: &[usize]) -> usize {
    shape.iter().fold(1usize, |n, &d| n.saturating_mul(d))
}

/// Every index of `shape` in C order.
pub fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let n = size(shape);
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    let mut idx = vec![0; shape.len()];
    for _ in 0..n {
        out.push(idx.clone());
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// Python's `slice(start, stop, step).indices(n)` and the resulting length: `(start, step, len)`
/// with `None` bounds omitted. `step != 0`.
pub fn slice_indices(start: Option<i128>, stop: Option<i128>, step: i128, n: i128) -> (i128, i128, i128) {
    let (lower, upper) = if step < 0 { (-1, n - 1) } else { (0, n) };
    let clip = |v: Option<i128>, default: i128| match v {
        None => default,
        Some(v) if v < 0 => (v + n).max(lower),
        Some(v) => v.min(upper),
    };
    let start = clip(start, if step < 0 { upper } else { lower });
    let stop = clip(stop, if step < 0 { lower } else { upper });
    let len = if step < 0 {
        if stop < start {
            (start - stop - 1) / (-step) + 1
        } else {
            0
        }
    } else if start < stop {
        (stop - start - 1) / step + 1
    } else {
        0
    };
    (start, step, len)
}

/// The storage behind an array and its views: one value (or `None`, unknown) per element of
/// the base array, C order.
#[derive(Clone, Debug)]
pub struct Storage {
    pub vals: Vec<Option<i128>>,
    pub alive: bool,
}

/// An array or view as the model sees it: which storage, and where each of its elements (C
/// order) lies in it.
#[derive(Clone, Debug)]
pub struct Arr {
    pub h: i64,
    pub st: usize,
    pub dt: Dt,
    pub shape: Vec<usize>,
    pub pos: Vec<usize>,
    /// Created by a creation call (owns its storage) rather than a view.
    pub owner: bool,
    /// A layout code (`DISTARR_LAYOUT_*`) for owners; results of other calls: block.
    pub layout: i32,
    /// Whether `distarr_local_block` gives this rank's part as one box (not block-cyclic with
    /// several blocks, not a view).
    pub one_box: bool,
}

impl Arr {
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    pub fn size(&self) -> usize {
        self.pos.len()
    }

    /// Position in the storage of element `idx`.
    pub fn at(&self, idx: &[usize]) -> usize {
        let k: usize = idx
            .iter()
            .zip(c_strides(&self.shape))
            .map(|(&i, s)| i * s as usize)
            .sum();
        self.pos[k]
    }

    /// The view of `self` with `shape` whose element `k` is element `map[k]` of `self`.
    pub fn sub(&self, shape: Vec<usize>, map: impl Iterator<Item = usize>) -> Arr {
        Arr {
            h: 0,
            pos: map.map(|k| self.pos[k]).collect(),
            shape,
            owner: false,
            one_box: false,
            ..self.clone()
        }
    }
}

/// C-order strides (in elements) of `shape`, saturating (only used when non-empty).
pub fn c_strides(shape: &[usize]) -> Vec<i128> {
    let mut s = vec![0i128; shape.len()];
    let mut acc: i128 = 1;
    for d in (0..shape.len()).rev() {
        s[d] = acc;
        acc = acc.saturating_mul(shape[d] as i128);
    }
    s
}

/// One item of a NumPy basic index (`distarr_index`).
#[derive(Clone, Copy, Debug)]
pub enum Item {
    Range(Option<i128>, Option<i128>, i128),
    Int(i128),
    NewAxis,
    Ellipsis,
}

/// The view `a[items]` (NumPy basic indexing), or the documented error code.
pub fn index_view(a: &Arr, items: &[Item]) -> Result<Arr, i32> {
    use crate::codes::*;
    let consumed = items
        .iter()
        .filter(|i| matches!(i, Item::Range(..) | Item::Int(_)))
        .count();
    let ellipses = items.iter().filter(|i| matches!(i, Item::Ellipsis)).count();
    if ellipses > 1 {
        return Err(ERR_ARG);
    }
    if items.iter().any(|i| matches!(i, Item::Range(_, _, 0))) {
        return Err(ERR_ARG);
    }
    if consumed > a.ndim() {
        return Err(ERR_BOUNDS);
    }
    // Over the C-order element numbers of `a`.
    let astr = c_strides(&a.shape);
    let mut shape = Vec::new();
    let mut strides = Vec::new();
    let mut offset: i128 = 0;
    let mut dim = 0;
    let mut explicit_ellipsis = false;
    for it in items {
        match *it {
            Item::NewAxis => {
                shape.push(1);
                strides.push(0);
            }
            Item::Ellipsis => {
                explicit_ellipsis = true;
                for _ in 0..a.ndim() - consumed {
                    shape.push(a.shape[dim]);
                    strides.push(astr[dim]);
                    dim += 1;
                }
            }
            Item::Range(start, stop, step) => {
                let n = a.shape[dim] as i128;
                let (s, st, len) = slice_indices(start, stop, step, n);
                if len > 0 {
                    offset += s * astr[dim];
                }
                shape.push(len as usize);
                strides.push(astr[dim].saturating_mul(st));
                dim += 1;
            }
            Item::Int(i) => {
                let n = a.shape[dim] as i128;
                let i = if i < 0 { i + n } else { i };
                if !(0..n).contains(&i) {
                    return Err(ERR_BOUNDS);
                }
                offset += i * astr[dim];
                dim += 1;
            }
        }
    }
    let _ = explicit_ellipsis;
    while dim < a.ndim() {
        shape.push(a.shape[dim]);
        strides.push(astr[dim]);
        dim += 1;
    }
    let map: Vec<usize> = indices(&shape)
        .iter()
        .map(|idx| idx.iter().zip(&strides).fold(offset, |p, (&i, &s)| p + i as i128 * s) as usize)
        .collect();
    Ok(a.sub(shape, map.into_iter()))
}

/// Element values of `a` (C order) from the storages.
pub fn values(a: &Arr, storages: &[Storage]) -> Vec<Option<i128>> {
    let st = &storages[a.st];
    a.pos.iter().map(|&p| st.vals.get(p).copied().flatten()).collect()
}

/// Writes `vals` (C order over `a`'s shape) into `a`'s storage, as NumPy would: every value was
/// computed before (the caller), and where several elements of `a` are one storage element (a
/// broadcast view) the result is unknown. Aliased storages become unknown.
pub fn write(a: &Arr, vals: &[Option<i128>], storages: &mut [Storage]) {
    let mut count = std::collections::HashMap::new();
    for &p in &a.pos {
        *count.entry(p).or_insert(0usize) += 1;
    }
    let st = &mut storages[a.st];
    for (&p, v) in a.pos.iter().zip(vals) {
        if p < st.vals.len() {
            st.vals[p] = if count[&p] > 1 { None } else { *v };
        }
    }
}

/// `src` broadcast to `shape` (a view), `None` when it does not broadcast.
pub fn broadcast_to(src: &Arr, shape: &[usize]) -> Option<Arr> {
    let b = broadcast(&src.shape, shape)?;
    if b != shape {
        return None;
    }
    let off = shape.len() - src.ndim();
    let sstr = c_strides(&src.shape);
    let map: Vec<usize> = indices(shape)
        .iter()
        .map(|idx| {
            (0..src.ndim())
                .map(|k| {
                    if src.shape[k] == 1 {
                        0
                    } else {
                        idx[k + off] * sstr[k] as usize
                    }
                })
                .sum()
        })
        .collect();
    Some(src.sub(shape.to_vec(), map.into_iter()))
}

/// Values of `src` broadcast to `shape` (C order), `None` when they do not broadcast.
pub fn broadcast_values(src: &Arr, shape: &[usize], storages: &[Storage]) -> Option<Vec<Option<i128>>> {
    broadcast_to(src, shape).map(|b| values(&b, storages))
}

/// The axes of `a` permuted (`perm[k]` = the axis of `a` that becomes axis `k`).
pub fn permute(a: &Arr, perm: &[usize]) -> Arr {
    let shape: Vec<usize> = perm.iter().map(|&k| a.shape[k]).collect();
    let astr = c_strides(&a.shape);
    let map: Vec<usize> = indices(&shape)
        .iter()
        .map(|idx| idx.iter().zip(perm).map(|(&i, &k)| i * astr[k] as usize).sum())
        .collect();
    a.sub(shape, map.into_iter())
}
