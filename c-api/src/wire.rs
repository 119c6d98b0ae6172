//! The wire format of collective commands: what rank 0 sends to the other ranks in sequential
//! mode (batches of commands, one `Runtime::seq_send` message per batch: see `crate::batch`)
//! and what every rank executes ([`crate::exec`]). Commands carry metadata only (handles,
//! codes, shapes, scalars, paths), never array data. Array ids are `distarr_array` values, the
//! same on every rank.
//!
//! A command is a little-endian `u16` opcode, one flags byte ([`SYNC_FIRST`]), one byte of
//! padding, then the command's fields in declaration order, little-endian and unaligned: 64-bit
//! integers and floats in 8 bytes, 32-bit integers in 4, booleans in 1; a vector or byte string
//! is its length (4 bytes) and then its items, the integers of vectors (shapes, axes, slice
//! bounds) as LEB128 varints (1 byte for small values and for `DISTARR_SLICE_NONE`). A batch
//! is a sequence of frames, each a command's length (a varint) and the command
//! ([`Cmd::encode_frame`], [`frames`]). A batch that fits in
//! [`distarr_runtime::SEQ_INLINE_BYTES`] (56) bytes travels in one broadcast (a single
//! element-wise, scalar, reduction or creation command, or a view of a few dimensions, with
//! room to spare; or one of them and a flush); a longer one in two.
use crate::status::{check, CError, CResult, DISTARR_ERR_INTERNAL};

/// Flag: every rank synchronises (`Runtime::sync`) before executing the command.
pub(crate) const SYNC_FIRST: u8 = 1;

/// Bytes before the fields: opcode, flags, padding.
const HEADER: usize = 4;

/// Decoder of a message's fields.
pub(crate) struct Reader<'a> {
    msg: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn bad(&self) -> CError {
        CError::new(DISTARR_ERR_INTERNAL, format!("malformed command {:02x?}", self.msg))
    }

    /// The next `N` bytes.
    fn bytes<const N: usize>(&mut self) -> CResult<[u8; N]> {
        let b = self.msg.get(self.at..self.at + N).ok_or_else(|| self.bad())?;
        self.at += N;
        b.try_into().map_err(|_| self.bad())
    }

    /// A length that the rest of the message can hold (so a corrupt length cannot allocate).
    fn len(&mut self) -> CResult<usize> {
        let n = u32::take(self)? as usize;
        check!(
            n <= self.msg.len(),
            DISTARR_ERR_INTERNAL,
            "malformed command (length {n})"
        );
        Ok(n)
    }
}

/// A field type of a command.
pub(crate) trait Field: Sized {
    fn put(&self, out: &mut Vec<u8>);
    fn take(r: &mut Reader<'_>) -> CResult<Self>;
}

/// Integers and floats: their little-endian bytes.
macro_rules! plain_field {
    ($($t:ty),*) => {$(
        impl Field for $t {
            fn put(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn take(r: &mut Reader<'_>) -> CResult<$t> {
                Ok(<$t>::from_le_bytes(r.bytes()?))
            }
        }
    )*};
}
plain_field!(u64, i64, u32, i32, f64);

impl Field for bool {
    fn put(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    fn take(r: &mut Reader<'_>) -> CResult<bool> {
        match r.bytes::<1>()? {
            [0] => Ok(false),
            [1] => Ok(true),
            _ => Err(r.bad()),
        }
    }
}

/// The length of a vector or byte string (4 bytes; commands never hold 2^32 items).
fn put_len(n: usize, out: &mut Vec<u8>) {
    u32::try_from(n).unwrap_or(u32::MAX).put(out);
}

/// An unsigned LEB128 varint: 7 bits per byte, low first, the high bit set on all but the last.
fn put_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v & 0x7f) as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take_varint(r: &mut Reader<'_>) -> CResult<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let [b] = r.bytes::<1>()?;
        let bits = u64::from(b & 0x7f);
        if shift == 63 && bits > 1 {
            return Err(r.bad());
        }
        v |= bits << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(r.bad())
}

/// A signed integer as an unsigned one with small magnitudes small: `i64::MIN` (the
/// `DISTARR_SLICE_NONE` of slice bounds) → 0, otherwise the zigzag code plus one.
fn signed_code(x: i64) -> u64 {
    if x == i64::MIN {
        0
    } else {
        (((x << 1) ^ (x >> 63)) as u64) + 1
    }
}

fn signed_decode(v: u64) -> i64 {
    match v.checked_sub(1) {
        None => i64::MIN,
        Some(z) => ((z >> 1) as i64) ^ -((z & 1) as i64),
    }
}

impl Field for Vec<u64> {
    fn put(&self, out: &mut Vec<u8>) {
        put_len(self.len(), out);
        self.iter().for_each(|&x| put_varint(x, out));
    }
    fn take(r: &mut Reader<'_>) -> CResult<Vec<u64>> {
        let n = r.len()?;
        (0..n).map(|_| take_varint(r)).collect()
    }
}

impl Field for Vec<i64> {
    fn put(&self, out: &mut Vec<u8>) {
        put_len(self.len(), out);
        self.iter().for_each(|&x| put_varint(signed_code(x), out));
    }
    fn take(r: &mut Reader<'_>) -> CResult<Vec<i64>> {
        let n = r.len()?;
        (0..n).map(|_| take_varint(r).map(signed_decode)).collect()
    }
}

/// A byte string (a scalar's bytes, a path).
impl Field for Vec<u8> {
    fn put(&self, out: &mut Vec<u8>) {
        put_len(self.len(), out);
        out.extend_from_slice(self);
    }
    fn take(r: &mut Reader<'_>) -> CResult<Vec<u8>> {
        let n = r.len()?;
        let b = r.msg.get(r.at..r.at + n).ok_or_else(|| r.bad())?.to_vec();
        r.at += n;
        Ok(b)
    }
}

/// Declares [`Cmd`], its opcodes and the encoding and decoding of its fields.
macro_rules! commands {
    ($( $(#[$doc:meta])* $name:ident = $op:literal $({ $($f:ident : $t:ty),* $(,)? })? ),* $(,)?) => {
        /// A collective call, as every rank executes it (in sequential mode: as rank 0 sends it).
        #[derive(Clone, Debug, PartialEq)]
        pub(crate) enum Cmd {
            $( $(#[$doc])* $name $({ $($f: $t),* })? ),*
        }

        impl Cmd {
            fn opcode(&self) -> u16 {
                match self {
                    $( Cmd::$name { .. } => $op ),*
                }
            }

            fn put_fields(&self, out: &mut Vec<u8>) {
                match self {
                    $( Cmd::$name $({ $($f),* })? => { $($( Field::put($f, out); )*)? } ),*
                }
            }

            fn take_fields(op: u16, r: &mut Reader<'_>) -> CResult<Cmd> {
                Ok(match op {
                    $( $op => Cmd::$name $({ $($f: <$t as Field>::take(r)?),* })?, )*
                    _ => return Err(r.bad()),
                })
            }
        }
    };
}

commands! {
    /// `distarr_finalize` (ends the workers' loop; not executed by `exec`).
    Finalize = 1,
    GmemAlloc = 2 { bytes: u64 },
    GmemFree = 3 { seg: u32 },
    Barrier = 4,
    Fence = 5,
    Sync = 6,
    /// `distarr_flush_deferred`: runs the deferred array operations.
    FlushDeferred = 7,
    /// `distarr_set_lazy`.
    SetLazy = 8 { on: bool },
    Create = 100 { shape: Vec<u64>, dtype: i32, layout: i32, block: Vec<u64>, rank: i32 },
    Arange = 101 { start: f64, stop: f64, step: f64, dtype: i32 },
    Linspace = 102 { start: f64, stop: f64, num: u64, endpoint: bool, dtype: i32 },
    Eye = 103 { n: u64, m: u64, k: i64, dtype: i32 },
    Load = 104 { path: Vec<u8> },
    Free = 105 { a: i64 },
    Fill = 106 { a: i64, value: Vec<u8> },
    Random = 107 { a: i64, seed: u64, normal: bool },
    /// `distarr_index` and `distarr_view`: item `k` is `kind[k]` with its bounds.
    Index = 108 { a: i64, kind: Vec<i64>, start: Vec<i64>, stop: Vec<i64>, step: Vec<i64> },
    /// `distarr_permute` and `distarr_transpose`.
    Permute = 109 { a: i64, axes: Vec<i64> },
    Reshape = 110 { a: i64, shape: Vec<i64> },
    BroadcastTo = 111 { a: i64, shape: Vec<u64> },
    Astype = 112 { a: i64, dtype: i32 },
    Unary = 113 { op: i32, out: i64, x: i64 },
    Binary = 114 { op: i32, out: i64, x: i64, y: i64 },
    BinaryScalar = 115 { op: i32, out: i64, x: i64, scalar: Vec<u8>, sdtype: i32, first: bool },
    Where = 116 { out: i64, cond: i64, x: i64, y: i64 },
    WhereScalar = 117 { out: i64, cond: i64, x: i64, scalar: Vec<u8>, sdtype: i32, first: bool },
    Reduce = 118 { op: i32, x: i64, axis: i32, out: i64 },
    Matmul = 119 { out: i64, a: i64, b: i64 },
    Copy = 120 { dst: i64, src: i64 },
    MaskSelect = 121 { a: i64, mask: i64 },
    MaskAssign = 122 { a: i64, mask: i64, values: i64 },
    Roll = 123 { out: i64, a: i64, shift: i64, axis: i32 },
    Concatenate = 124 { arrays: Vec<i64>, axis: i32 },
    Gather = 125 { a: i64, root: i32 },
    Scatter = 126 { a: i64, root: i32 },
    Save = 127 { a: i64, path: Vec<u8> },
}

impl Cmd {
    /// The message for this command with `flags` (e.g. [`SYNC_FIRST`]).
    #[cfg(test)]
    pub(crate) fn encode(&self, flags: u8) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.encode_into(flags, &mut out);
        out
    }

    /// Appends the message for this command with `flags` to `out`.
    fn encode_into(&self, flags: u8, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.opcode().to_le_bytes());
        out.extend_from_slice(&[flags, 0]);
        self.put_fields(out);
    }

    /// Appends this command with `flags` to a batch: the message's length (a varint), then the
    /// message (see [`frames`]).
    pub(crate) fn encode_frame(&self, flags: u8, out: &mut Vec<u8>) {
        let at = out.len();
        out.push(0); // the length, when it fits in one byte (nearly always)
        self.encode_into(flags, out);
        let len = out.len() - at - 1;
        if len < 0x80 {
            out[at] = len as u8;
        } else {
            let mut prefix = Vec::with_capacity(4);
            put_varint(len as u64, &mut prefix);
            out.splice(at..=at, prefix);
        }
    }

    /// The command and flags of a message.
    pub(crate) fn decode(msg: &[u8]) -> CResult<(Cmd, u8)> {
        let mut r = Reader { msg, at: HEADER };
        let head = msg.get(..HEADER).ok_or_else(|| r.bad())?;
        let op = u16::from_le_bytes([head[0], head[1]]);
        let cmd = Cmd::take_fields(op, &mut r)?;
        check!(
            r.at == msg.len(),
            DISTARR_ERR_INTERNAL,
            "malformed command (trailing bytes)"
        );
        Ok((cmd, head[2]))
    }

    /// Whether the command reads or writes array data (so that sequential mode orders it with
    /// one-sided calls; see `state::SyncTracker`). Views, frees and the PGAS-level commands do not.
    pub(crate) fn touches_data(&self) -> bool {
        !matches!(
            self,
            Cmd::Finalize
                | Cmd::GmemAlloc { .. }
                | Cmd::GmemFree { .. }
                | Cmd::Barrier
                | Cmd::Fence
                | Cmd::Sync
                // The operations a flush runs were recorded by commands that touch data (and
                // were ordered then): running them needs no ordering of its own.
                | Cmd::FlushDeferred
                | Cmd::SetLazy { .. }
                | Cmd::Free { .. }
                | Cmd::Index { .. }
                | Cmd::Permute { .. }
                | Cmd::BroadcastTo { .. }
        )
    }
}

/// The messages of a batch made with [`Cmd::encode_frame`], in order; an error for a malformed
/// frame (then the iteration ends).
pub(crate) fn frames(batch: &[u8]) -> impl Iterator<Item = CResult<&[u8]>> {
    let mut r = Reader { msg: batch, at: 0 };
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || r.at == r.msg.len() {
            return None;
        }
        let start = r.at;
        let frame = take_varint(&mut r).ok().and_then(|n| {
            let end = usize::try_from(n).ok()?.checked_add(r.at)?;
            let m = r.msg.get(r.at..end)?;
            r.at = end;
            Some(m)
        });
        let frame = frame.ok_or_else(|| {
            CError::new(
                DISTARR_ERR_INTERNAL,
                format!("malformed command batch (frame at byte {start} of {})", r.msg.len()),
            )
        });
        failed = frame.is_err();
        Some(frame)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Cmd> {
        vec![
            Cmd::Finalize,
            Cmd::GmemAlloc { bytes: u64::MAX },
            Cmd::GmemFree { seg: 0xdead_beef },
            Cmd::Barrier,
            Cmd::Fence,
            Cmd::Sync,
            Cmd::FlushDeferred,
            Cmd::SetLazy { on: true },
            Cmd::Create {
                shape: vec![3, 0, u64::MAX],
                dtype: 7,
                layout: 1,
                block: vec![1, 2, 3],
                rank: -1,
            },
            Cmd::Arange {
                start: -1.5,
                stop: 1e300,
                step: f64::MIN_POSITIVE,
                dtype: 2,
            },
            Cmd::Linspace {
                start: -0.0,
                stop: 7.25,
                num: 5,
                endpoint: true,
                dtype: 6,
            },
            Cmd::Eye {
                n: 3,
                m: 4,
                k: -2,
                dtype: 0,
            },
            Cmd::Load {
                path: b"/tmp/some file \xff.npy".to_vec(),
            },
            Cmd::Free { a: i64::MAX },
            Cmd::Fill {
                a: 5,
                value: vec![1, 2, 3],
            },
            Cmd::Random {
                a: 1,
                seed: u64::MAX,
                normal: true,
            },
            Cmd::Index {
                a: 9,
                kind: vec![0, 1, 2, 3],
                start: vec![i64::MIN, -3, 0, 0],
                stop: vec![4, i64::MIN, 0, 0],
                step: vec![1, -2, 1, 1],
            },
            Cmd::Permute {
                a: 3,
                axes: vec![2, 0, -1],
            },
            Cmd::Reshape {
                a: 3,
                shape: vec![-1, 4],
            },
            Cmd::BroadcastTo {
                a: 3,
                shape: vec![5, 1, 0],
            },
            Cmd::Astype { a: 3, dtype: 9 },
            Cmd::Unary { op: 64, out: 1, x: 2 },
            Cmd::Binary {
                op: 0,
                out: 1,
                x: 2,
                y: 3,
            },
            Cmd::BinaryScalar {
                op: 3,
                out: 1,
                x: 2,
                scalar: 2.5f64.to_le_bytes().to_vec(),
                sdtype: 7,
                first: true,
            },
            Cmd::Where {
                out: 1,
                cond: 2,
                x: 3,
                y: 4,
            },
            Cmd::WhereScalar {
                out: 1,
                cond: 2,
                x: 3,
                scalar: vec![7],
                sdtype: 3,
                first: false,
            },
            Cmd::Reduce {
                op: 16,
                x: 1,
                axis: i32::MIN,
                out: 0,
            },
            Cmd::Matmul { out: 1, a: 2, b: 3 },
            Cmd::Copy { dst: 1, src: 2 },
            Cmd::MaskSelect { a: 1, mask: 2 },
            Cmd::MaskAssign {
                a: 1,
                mask: 2,
                values: 3,
            },
            Cmd::Roll {
                out: 1,
                a: 2,
                shift: i64::MIN,
                axis: -1,
            },
            Cmd::Concatenate {
                arrays: vec![1, 2, 3],
                axis: i32::MIN,
            },
            Cmd::Gather { a: 1, root: 0 },
            Cmd::Scatter { a: 1, root: 0 },
            Cmd::Save {
                a: 1,
                path: vec![b'x'; 300],
            },
        ]
    }

    #[test]
    fn commands_round_trip() {
        let mut opcodes = std::collections::BTreeSet::new();
        for c in samples() {
            assert!(opcodes.insert(c.opcode()), "opcode of {c:?} is unique");
            for flags in [0, SYNC_FIRST] {
                let m = c.encode(flags);
                assert_eq!(Cmd::decode(&m).unwrap(), (c.clone(), flags), "{c:?}");
                if m.len() > HEADER {
                    assert!(Cmd::decode(&m[..m.len() - 1]).is_err(), "truncated {c:?}");
                }
                let mut longer = m.clone();
                longer.extend_from_slice(&[0; 8]);
                assert!(Cmd::decode(&longer).is_err(), "trailing bytes after {c:?}");
            }
        }
        assert!(Cmd::decode(&[]).is_err());
        assert!(Cmd::decode(&[2, 0, 0, 0]).is_err(), "missing argument");
        let mut huge = Cmd::Load { path: vec![1] }.encode(0);
        huge[HEADER..HEADER + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Cmd::decode(&huge).is_err(), "a length beyond the message");
        assert!(Cmd::decode(&[99, 0, 0, 0]).is_err(), "unknown opcode");
        assert!(Cmd::decode(&[6, 0]).is_err(), "short header");
        let mut bad_bool = Cmd::Random {
            a: 1,
            seed: 2,
            normal: true,
        }
        .encode(0);
        let at = bad_bool.len() - 1;
        bad_bool[at] = 2;
        assert!(Cmd::decode(&bad_bool).is_err(), "a bool word other than 0/1");
    }

    #[test]
    fn varints_round_trip() {
        let ints = [
            0,
            1,
            -1,
            63,
            -64,
            64,
            127,
            128,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
            -(1 << 40),
        ];
        for x in ints {
            assert_eq!(signed_decode(signed_code(x)), x, "{x}");
        }
        assert_eq!(signed_code(i64::MIN), 0);
        assert!(signed_code(-1) < 0x80 && signed_code(1) < 0x80);
        let v: Vec<i64> = ints.to_vec();
        let u: Vec<u64> = vec![0, 127, 128, u64::MAX, 1 << 35];
        let mut m = Vec::new();
        v.put(&mut m);
        u.put(&mut m);
        let mut r = Reader { msg: &m, at: 0 };
        assert_eq!(Vec::<i64>::take(&mut r).unwrap(), v);
        assert_eq!(Vec::<u64>::take(&mut r).unwrap(), u);
        assert_eq!(r.at, m.len());
        // 11 continuation bytes, or a 10th byte beyond 64 bits: refused
        for bad in [
            vec![
                1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
            vec![1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
        ] {
            let mut r = Reader { msg: &bad, at: 0 };
            assert!(Vec::<u64>::take(&mut r).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn small_commands_fit_in_one_broadcast() {
        for c in [
            Cmd::Sync,
            Cmd::Binary {
                op: 0,
                out: 1,
                x: 2,
                y: 3,
            },
            Cmd::BinaryScalar {
                op: 0,
                out: 1,
                x: 2,
                scalar: vec![0; 8],
                sdtype: 7,
                first: false,
            },
            Cmd::Reduce {
                op: 0,
                x: 1,
                axis: 0,
                out: 2,
            },
            Cmd::Linspace {
                start: 0.0,
                stop: 1.0,
                num: 5,
                endpoint: true,
                dtype: 7,
            },
            Cmd::WhereScalar {
                out: 1,
                cond: 2,
                x: 3,
                scalar: vec![0; 16],
                sdtype: 9,
                first: true,
            },
            Cmd::Create {
                shape: vec![1000, 1000],
                dtype: 7,
                layout: 0,
                block: vec![],
                rank: 0,
            },
            Cmd::Roll {
                out: 1,
                a: 2,
                shift: -1,
                axis: 0,
            },
            // a[1:-1, ::2, 3] and a.T of a 3-d array
            Cmd::Index {
                a: i64::MAX,
                kind: vec![0, 0, 1],
                start: vec![1, i64::MIN, 3],
                stop: vec![-1, i64::MIN, i64::MIN],
                step: vec![1, 2, 1],
            },
            Cmd::Permute {
                a: i64::MAX,
                axes: vec![2, 1, 0],
            },
        ] {
            let mut frame = Vec::new();
            c.encode_frame(SYNC_FIRST, &mut frame);
            assert!(
                frame.len() <= distarr_runtime::SEQ_INLINE_BYTES,
                "{c:?} fits in one broadcast, alone in its batch"
            );
        }
        // `c = a + b` and the flush that runs it, in one broadcast
        let mut batch = Vec::new();
        for c in [
            Cmd::Binary {
                op: 0,
                out: 3,
                x: 1,
                y: 2,
            },
            Cmd::FlushDeferred,
        ] {
            c.encode_frame(0, &mut batch);
        }
        assert!(
            batch.len() <= distarr_runtime::SEQ_INLINE_BYTES,
            "{} bytes",
            batch.len()
        );
    }

    #[test]
    fn batches_round_trip() {
        let all = samples();
        let mut batch = Vec::new();
        for (k, c) in all.iter().enumerate() {
            c.encode_frame((k % 2) as u8, &mut batch);
        }
        let got: Vec<(Cmd, u8)> = frames(&batch).map(|f| Cmd::decode(f.unwrap()).unwrap()).collect();
        let want: Vec<(Cmd, u8)> = all
            .iter()
            .enumerate()
            .map(|(k, c)| (c.clone(), (k % 2) as u8))
            .collect();
        assert_eq!(got, want);
        // a frame longer than 127 bytes has a 2-byte length
        let long = Cmd::Save {
            a: 1,
            path: vec![b'x'; 300],
        };
        let mut one = Vec::new();
        long.encode_frame(0, &mut one);
        assert_eq!(one.len(), 2 + long.encode(0).len());
        assert_eq!(frames(&[]).count(), 0, "an empty batch has no commands");
        // a truncated batch: the commands before the cut, then one error, then nothing
        let cut = &batch[..batch.len() - 3];
        let items: Vec<CResult<&[u8]>> = frames(cut).collect();
        assert_eq!(items.len(), all.len());
        assert!(items[..all.len() - 1].iter().all(Result::is_ok));
        assert!(items[all.len() - 1].is_err());
        // a length beyond the batch, and a malformed varint
        assert!(frames(&[5, 1, 0]).next().unwrap().is_err());
        assert!(frames(&[0xff; 12]).next().unwrap().is_err());
    }
}
