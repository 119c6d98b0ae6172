//! The `.npy` file header (NumPy format versions 1.0, 2.0 and 3.0).
//!
//! A `.npy` file is: the magic `\x93NUMPY`, a major and minor version byte, the header length
//! (little-endian `u16` in version 1.0, `u32` in 2.0 and 3.0), then the header — the text of a
//! Python dict literal with keys `'descr'`, `'fortran_order'` and `'shape'`, padded with spaces
//! and a final `'\n'` so that the data starts at a multiple of 64 bytes — then the raw data.
//! Versions 1.0 and 2.0 encode the header as Latin-1, version 3.0 as UTF-8.
//!
//! distarr reads and writes little-endian, C-order files of its own dtypes.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::shape::checked_len;

/// The six magic bytes that start every `.npy` file.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// NumPy aligns the start of the data to this many bytes.
const ARRAY_ALIGN: usize = 64;

/// NumPy (≥ 1.24) leaves room after the dict so the growth axis can reach this many digits.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// The decoded header of a `.npy` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    /// Element type.
    pub dtype: DType,
    /// Array shape.
    pub shape: Vec<usize>,
    /// Whether the data is in Fortran order; always `false` after [`parse_header`], which
    /// rejects Fortran-order files.
    pub fortran_order: bool,
    /// Byte offset of the first data byte (the total header size).
    pub data_offset: usize,
}

impl NpyHeader {
    /// Number of data bytes the header announces (`elements × element size`).
    pub fn data_len(&self) -> Result<u64> {
        let n = checked_len(&self.shape)?;
        (n as u64)
            .checked_mul(self.dtype.size() as u64)
            .ok_or_else(|| Error::io("npy data size overflows"))
    }
}

/// The Python `repr` of a shape tuple: `()`, `(3,)`, `(3, 4)`.
fn shape_repr(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(|n| n.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// The complete header bytes (magic through the final `'\n'`) NumPy's `np.save` writes for an
/// array of `dtype` and `shape`: keys in sorted order, NumPy's spare growth space, padding to a
/// multiple of 64 bytes. Version 1.0 unless the header needs more than 65535 bytes, then 2.0.
pub fn write_header(dtype: DType, shape: &[usize], fortran_order: bool) -> Result<Vec<u8>> {
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': {}, 'shape': {}, }}",
        dtype.npy_descr(),
        if fortran_order { "True" } else { "False" },
        shape_repr(shape)
    );
    let growth = if fortran_order { shape.last() } else { shape.first() };
    if let Some(n) = growth {
        let digits = n.to_string().len();
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }
    let hlen = dict.len() + 1; // the final newline
    for (major, len_bytes) in [(1u8, 2usize), (2, 4)] {
        let pad = ARRAY_ALIGN - (MAGIC.len() + 2 + len_bytes + hlen) % ARRAY_ALIGN;
        let total_hlen = hlen + pad;
        let len_field: Vec<u8> = if len_bytes == 2 {
            match u16::try_from(total_hlen) {
                Ok(v) => v.to_le_bytes().to_vec(),
                Err(_) => continue,
            }
        } else {
            match u32::try_from(total_hlen) {
                Ok(v) => v.to_le_bytes().to_vec(),
                Err(_) => continue,
            }
        };
        let mut out = Vec::with_capacity(MAGIC.len() + 2 + len_bytes + total_hlen);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[major, 0]);
        out.extend_from_slice(&len_field);
        out.extend_from_slice(dict.as_bytes());
        out.extend(std::iter::repeat(b' ').take(pad));
        out.push(b'\n');
        return Ok(out);
    }
    Err(Error::io("npy header is too large"))
}

/// The version `(major, minor)` and total header size (the data offset) from the first bytes of
/// a `.npy` file; needs 10 bytes for version 1.0 and 12 for 2.0/3.0.
pub fn header_len(prefix: &[u8]) -> Result<((u8, u8), usize)> {
    if prefix.len() < MAGIC.len() + 2 {
        return Err(Error::io("npy file truncated before its version"));
    }
    if &prefix[..MAGIC.len()] != MAGIC {
        return Err(Error::io("not a .npy file (bad magic string)"));
    }
    let version = (prefix[6], prefix[7]);
    let len_bytes = match version {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        (a, b) => return Err(Error::io(format!("unsupported .npy format version {a}.{b}"))),
    };
    let start = MAGIC.len() + 2;
    let field = prefix
        .get(start..start + len_bytes)
        .ok_or_else(|| Error::io("npy file truncated in its header length"))?;
    let hlen = field.iter().rev().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    Ok((version, start + len_bytes + hlen))
}

/// Parses and validates a `.npy` header from the start of a file (`bytes` may contain more, e.g.
/// the whole file). Checks the magic, the version (1.0, 2.0, 3.0), that the header is complete,
/// its encoding, and the dict: exactly the keys `'descr'`, `'fortran_order'`, `'shape'`; a
/// supported little-endian dtype (big-endian, object, string and structured dtypes are
/// rejected); `fortran_order` `False` (Fortran order is unsupported); a shape tuple of
/// non-negative integers. Failures are `Io` errors (a malformed file), except a well-formed header
/// whose dtype distarr lacks (big-endian, object, string, structured, float16 …): a `DType`
/// error (the C ABI's `DISTARR_ERR_DTYPE`). Messages say what is wrong or unsupported.
pub fn parse_header(bytes: &[u8]) -> Result<NpyHeader> {
    let (version, data_offset) = header_len(bytes)?;
    let start = if version.0 == 1 { 10 } else { 12 };
    let raw = bytes.get(start..data_offset).ok_or_else(|| {
        Error::io(format!(
            "npy file truncated: header needs {data_offset} bytes, got {}",
            bytes.len()
        ))
    })?;
    let text: String = if version.0 == 3 {
        std::str::from_utf8(raw)
            .map_err(|_| Error::io("npy header is not valid UTF-8"))?
            .to_string()
    } else {
        // Latin-1: every byte is the code point of the same value.
        raw.iter().map(|&b| char::from(b)).collect()
    };
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let lit = p.value()?;
    p.skip_ws();
    if p.i != p.s.len() {
        return Err(Error::io("npy header has trailing characters after the dict"));
    }
    let Lit::Dict(entries) = lit else {
        return Err(Error::io("npy header is not a dict"));
    };
    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;
    for (k, v) in entries {
        let Lit::Str(k) = k else {
            return Err(Error::io("npy header has a non-string key"));
        };
        let slot = match k.as_str() {
            "descr" => &mut descr,
            "fortran_order" => &mut fortran,
            "shape" => &mut shape,
            _ => {
                return Err(Error::io(format!(
                    "npy header does not contain the correct keys (unexpected {k:?})"
                )))
            }
        };
        if slot.replace(v).is_some() {
            return Err(Error::io(format!("npy header repeats key {k:?}")));
        }
    }
    let (Some(descr), Some(fortran), Some(shape)) = (descr, fortran, shape) else {
        return Err(Error::io(
            "npy header does not contain the correct keys ('descr', 'fortran_order', 'shape')",
        ));
    };
    let dtype = match descr {
        Lit::Str(s) => DType::from_npy_descr(&s)
            .map_err(|e| Error::dtype(format!("npy file has an unsupported dtype: {}", e.message())))?,
        Lit::List(fields) => {
            return Err(Error::dtype(format!(
                "structured npy dtypes ({} fields) are not supported",
                fields.len()
            )))
        }
        _ => return Err(Error::io("npy 'descr' is not a string")),
    };
    let fortran_order = match fortran {
        Lit::Bool(b) => b,
        _ => return Err(Error::io("npy 'fortran_order' is not a bool")),
    };
    if fortran_order {
        return Err(Error::io(
            "Fortran-order .npy files are not supported (save with C order)",
        ));
    }
    let Lit::Tuple(dims) = shape else {
        return Err(Error::io("npy 'shape' is not a tuple"));
    };
    let shape = dims
        .into_iter()
        .map(|d| match d {
            Lit::Int(n) => usize::try_from(n).map_err(|_| Error::io(format!("npy shape entry {n} is out of range"))),
            _ => Err(Error::io("npy shape entries must be integers")),
        })
        .collect::<Result<Vec<usize>>>()?;
    checked_len(&shape).map_err(|_| Error::io("npy shape is too large"))?;
    Ok(NpyHeader {
        dtype,
        shape,
        fortran_order,
        data_offset,
    })
}

/// Checks that a file of `file_len` bytes holds exactly the header plus the announced data.
pub fn validate_len(header: &NpyHeader, file_len: u64) -> Result<()> {
    let want = (header.data_offset as u64)
        .checked_add(header.data_len()?)
        .ok_or_else(|| Error::io("npy file size overflows"))?;
    if file_len < want {
        return Err(Error::io(format!(
            "npy file truncated: {file_len} bytes, expected {want}"
        )));
    }
    if file_len > want {
        return Err(Error::io(format!(
            "npy file has {} unexpected trailing bytes (expected {want} bytes in total)",
            file_len - want
        )));
    }
    Ok(())
}

/// A Python literal, as far as `.npy` headers use them.
#[derive(Debug)]
enum Lit {
    Str(String),
    Bool(bool),
    None,
    Int(i128),
    Tuple(Vec<Lit>),
    List(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
}

/// A recursive-descent parser for the Python literal subset of `.npy` headers (the role of
/// NumPy's `safe_eval`). Nesting depth is bounded to keep hostile input from overflowing the
/// stack.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

const MAX_DEPTH: usize = 32;

impl Parser<'_> {
    fn err(&self, what: &str) -> Error {
        Error::io(format!("malformed npy header at byte {}: {what}", self.i))
    }

    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn value(&mut self) -> Result<Lit> {
        self.value_at(0)
    }

    fn value_at(&mut self, depth: usize) -> Result<Lit> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.peek() {
            None => Err(self.err("unexpected end")),
            Some(q @ (b'\'' | b'"')) => self.string(q),
            Some(b'{') => {
                self.i += 1;
                let mut entries = Vec::new();
                loop {
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                        return Ok(Lit::Dict(entries));
                    }
                    let k = self.value_at(depth + 1)?;
                    if self.peek() != Some(b':') {
                        return Err(self.err("expected ':'"));
                    }
                    self.i += 1;
                    let v = self.value_at(depth + 1)?;
                    entries.push((k, v));
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {}
                        _ => return Err(self.err("expected ',' or '}'")),
                    }
                }
            }
            Some(open @ (b'(' | b'[')) => {
                let close = if open == b'(' { b')' } else { b']' };
                self.i += 1;
                let mut items = Vec::new();
                let mut saw_comma = false;
                loop {
                    if self.peek() == Some(close) {
                        self.i += 1;
                        break;
                    }
                    items.push(self.value_at(depth + 1)?);
                    match self.peek() {
                        Some(b',') => {
                            self.i += 1;
                            saw_comma = true;
                        }
                        Some(c) if c == close => {}
                        _ => return Err(self.err("expected ',' or a closing bracket")),
                    }
                }
                if open == b'[' {
                    Ok(Lit::List(items))
                } else if items.len() == 1 && !saw_comma {
                    // `(3)` is a parenthesised value, not a tuple.
                    items.pop().ok_or_else(|| self.err("empty parentheses"))
                } else {
                    Ok(Lit::Tuple(items))
                }
            }
            Some(c) if c == b'-' || c == b'+' || c.is_ascii_digit() => self.int(),
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    self.i += 1;
                }
                match &self.s[start..self.i] {
                    b"True" => Ok(Lit::Bool(true)),
                    b"False" => Ok(Lit::Bool(false)),
                    b"None" => Ok(Lit::None),
                    _ => Err(self.err("unknown name")),
                }
            }
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn string(&mut self, quote: u8) -> Result<Lit> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.i) else {
                return Err(self.err("unterminated string"));
            };
            self.i += 1;
            match c {
                b'\\' => {
                    let Some(&e) = self.s.get(self.i) else {
                        return Err(self.err("unterminated string"));
                    };
                    self.i += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'\\' | b'\'' | b'"' => e,
                        _ => return Err(self.err("unsupported string escape")),
                    });
                }
                c if c == quote => break,
                c => out.push(c),
            }
        }
        String::from_utf8(out)
            .map(Lit::Str)
            .map_err(|_| self.err("string is not valid text"))
    }

    fn int(&mut self) -> Result<Lit> {
        let start = self.i;
        if matches!(self.s.get(self.i), Some(b'-' | b'+')) {
            self.i += 1;
        }
        let digits = self.i;
        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        if self.i == digits {
            return Err(self.err("expected digits"));
        }
        // Python 2 wrote long integers with an `L` suffix.
        let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| self.err("bad int"))?;
        let v: i128 = text.parse().map_err(|_| self.err("integer out of range"))?;
        if matches!(self.s.get(self.i), Some(b'L' | b'l')) {
            self.i += 1;
        }
        if self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.')
        {
            return Err(self.err("not an integer"));
        }
        Ok(Lit::Int(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds header bytes by hand: magic, version, length field, dict text, padding.
    fn raw(version: (u8, u8), dict: &str) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend([version.0, version.1]);
        let body = format!("{dict}\n");
        if version.0 == 1 {
            out.extend((body.len() as u16).to_le_bytes());
        } else {
            out.extend((body.len() as u32).to_le_bytes());
        }
        out.extend(body.as_bytes());
        out
    }

    #[test]
    fn writes_like_numpy() {
        // np.save(f, np.zeros((3, 4))) header, byte for byte (NumPy >= 1.24).
        let mut want = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
        let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }";
        want.extend(dict.as_bytes());
        want.extend(std::iter::repeat(b' ').take(128 - 10 - dict.len() - 1));
        want.push(b'\n');
        assert_eq!(write_header(DType::F64, &[3, 4], false).unwrap(), want);

        let h = write_header(DType::Bool, &[], false).unwrap();
        assert_eq!(h.len(), 128);
        assert!(h[10..].starts_with(b"{'descr': '|b1', 'fortran_order': False, 'shape': (), }"));
        let h = write_header(DType::C128, &[7], false).unwrap();
        assert!(h[10..].starts_with(b"{'descr': '<c16', 'fortran_order': False, 'shape': (7,), }"));
        // With 13 axes the growth space pushes the header past 128 bytes (NumPy: 192).
        let shape: Vec<usize> = (2..15).collect();
        assert_eq!(write_header(DType::F64, &shape, false).unwrap().len(), 192);
        // Fortran order writes True and uses the last axis for growth space.
        let h = write_header(DType::I32, &[2, 3], true).unwrap();
        assert!(h[10..].starts_with(b"{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }"));
    }

    #[test]
    fn version_2_for_long_headers() {
        let shape = vec![1usize; 30_000];
        let h = write_header(DType::U8, &shape, false).unwrap();
        assert_eq!(&h[6..8], &[2, 0]);
        assert_eq!(h.len() % 64, 0);
        let p = parse_header(&h).unwrap();
        assert_eq!(p.shape, shape);
        assert_eq!(p.data_offset, h.len());
    }

    #[test]
    fn parses_variants() {
        // Old NumPy/Python 2 style: double quotes, other key order, L suffix, no trailing comma.
        let h = raw(
            (1, 0),
            "{\"shape\": (3L, 4L), \"fortran_order\": False, \"descr\": \"<i8\"}  ",
        );
        let p = parse_header(&h).unwrap();
        assert_eq!(p.dtype, DType::I64);
        assert_eq!(p.shape, vec![3, 4]);
        assert_eq!(p.data_offset, h.len());
        let h = raw((3, 0), "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }");
        assert_eq!(parse_header(&h).unwrap().shape, vec![5]);
        let h = raw((2, 0), "{'descr':'|u1','fortran_order':False,'shape':()}");
        assert_eq!(parse_header(&h).unwrap().shape, Vec::<usize>::new());
        // extra bytes after the header (the data) are fine
        let mut h = raw((1, 0), "{'descr': '<u4', 'fortran_order': False, 'shape': (2,), }");
        let off = h.len();
        h.extend([1, 0, 0, 0, 2, 0, 0, 0]);
        let p = parse_header(&h).unwrap();
        assert_eq!(p.data_offset, off);
        validate_len(&p, h.len() as u64).unwrap();
        assert!(validate_len(&p, h.len() as u64 - 1).is_err());
        assert!(validate_len(&p, h.len() as u64 + 1).is_err());
    }

    #[test]
    fn rejects_bad_headers() {
        let ok = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }";
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"\x93NUMPZ\x01\x00\x00\x00".to_vec(), "magic"),
            (b"\x93NUM".to_vec(), "truncated"),
            (raw((4, 0), ok), "version"),
            (raw((1, 1), ok), "version"),
            (raw((1, 0), ok)[..40].to_vec(), "truncated"),
            (raw((2, 0), ok)[..11].to_vec(), "truncated"),
            (
                raw((1, 0), "{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }"),
                "big-endian",
            ),
            (
                raw((1, 0), "{'descr': '|O', 'fortran_order': False, 'shape': (3,), }"),
                "unsupported dtype",
            ),
            (
                raw(
                    (1, 0),
                    "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }",
                ),
                "structured",
            ),
            (
                raw((1, 0), "{'descr': '<f8', 'fortran_order': True, 'shape': (3,), }"),
                "Fortran",
            ),
            (raw((1, 0), "{'descr': '<f8', 'shape': (3,), }"), "keys"),
            (
                raw(
                    (1, 0),
                    "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}",
                ),
                "keys",
            ),
            (
                raw(
                    (1, 0),
                    "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (3,)}",
                ),
                "repeats",
            ),
            (
                raw((1, 0), "{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }"),
                "out of range",
            ),
            (
                raw((1, 0), "{'descr': '<f8', 'fortran_order': False, 'shape': [3], }"),
                "tuple",
            ),
            (
                raw((1, 0), "{'descr': '<f8', 'fortran_order': False, 'shape': (3.5,), }"),
                "not an integer",
            ),
            (
                raw((1, 0), "{'descr': '<f8', 'fortran_order': 0, 'shape': (3,), }"),
                "bool",
            ),
            (
                raw((1, 0), "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), } x"),
                "trailing",
            ),
            (raw((1, 0), "['descr']"), "not a dict"),
            (raw((1, 0), "{'descr: '<f8'}"), "malformed"),
            (raw((1, 0), "{'descr': '<f8' 'fortran_order': False}"), "malformed"),
            (
                raw(
                    (1, 0),
                    "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }",
                ),
                "out of range",
            ),
            (
                raw(
                    (1, 0),
                    "{'descr': '<f8', 'fortran_order': False, 'shape': (9999999999, 9999999999, 9999999999), }",
                ),
                "too large",
            ),
            (
                raw((1, 0), &format!("{}{}", "(".repeat(100), ")".repeat(100))),
                "deeply",
            ),
        ];
        for (bytes, needle) in cases {
            let e = parse_header(&bytes).expect_err(needle);
            assert!(e.message().contains(needle), "expected {needle:?} in {:?}", e.message());
            // A dtype distarr lacks in a well-formed header is a DType error, the rest Io.
            let kind = if ["big-endian", "unsupported dtype", "structured"].contains(&needle) {
                crate::error::ErrorKind::DType
            } else {
                crate::error::ErrorKind::Io
            };
            assert_eq!(e.kind(), kind, "{e}");
        }
        // Latin-1 (v1) header bytes above 0x7f decode; v3 requires UTF-8.
        let mut h = raw((3, 0), "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }");
        h[12] = 0xff;
        assert!(parse_header(&h).unwrap_err().message().contains("UTF-8"));
    }

    /// A Python interpreter that can import NumPy: `$DISTARR_PYTHON` if set, else Debian's
    /// `/usr/bin/python3` (python3-numpy; a `python3` earlier on `PATH`, e.g. pyenv's, may lack
    /// NumPy), else `python3` from `PATH`.
    fn numpy_python() -> Option<String> {
        let candidates = std::env::var("DISTARR_PYTHON")
            .ok()
            .into_iter()
            .chain(["/usr/bin/python3".to_string(), "python3".to_string()]);
        candidates.into_iter().find(|py| {
            std::process::Command::new(py)
                .args(["-c", "import numpy"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
    }

    /// When NumPy is installed, files written by NumPy parse, and NumPy loads files with our
    /// headers. Skipped (passing, with a note on stderr) when no Python with NumPy is found;
    /// the tests above need neither. CI installs python3-numpy (scripts/setup.sh).
    #[test]
    fn numpy_interop_if_available() {
        let Some(python) = numpy_python() else {
            eprintln!("numpy_interop_if_available: skipped, no python3 with NumPy found");
            return;
        };
        let py = |code: &str| {
            let out = std::process::Command::new(&python).args(["-c", code]).output();
            match out {
                Ok(o) if o.status.success() => o,
                Ok(o) => panic!("{python} -c {code:?} failed:\n{}", String::from_utf8_lossy(&o.stderr)),
                Err(e) => panic!("cannot run {python}: {e}"),
            }
        };
        let dir = std::env::temp_dir().join(format!("distarr-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Long headers without large data: many dimensions or many digits, with a zero extent.
        let cases: [(DType, &[usize]); 7] = [
            (DType::F64, &[3, 4]),
            (DType::Bool, &[]),
            (DType::C64, &[2, 0, 5]),
            (DType::U8, &[7]),
            (DType::I64, &[2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 0]),
            (DType::C128, &[123_456_789_012, 0, 98_765]),
            (DType::U32, &[1; 32]),
        ];
        for (k, (dt, shape)) in cases.iter().enumerate() {
            let theirs = dir.join(format!("np{k}.npy"));
            let shape_py = shape_repr(shape);
            py(&format!(
                "import numpy as np; np.save({:?}, np.zeros({shape_py}, dtype={:?}))",
                theirs.display(),
                dt.name()
            ));
            let bytes = std::fs::read(&theirs).unwrap();
            let h = parse_header(&bytes).unwrap();
            assert_eq!((h.dtype, h.shape.as_slice()), (*dt, *shape));
            validate_len(&h, bytes.len() as u64).unwrap();
            // our header + zero data loads in NumPy with the same dtype and shape
            let ours = dir.join(format!("ours{k}.npy"));
            let mut file = write_header(*dt, shape, false).unwrap();
            file.resize(file.len() + h.data_len().unwrap() as usize, 0);
            std::fs::write(&ours, &file).unwrap();
            let out = py(&format!(
                "import numpy as np; a = np.load({:?}); print(a.dtype.name, a.shape)",
                ours.display()
            ));
            let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
            assert_eq!(text, format!("{} {}", dt.name(), shape_repr(shape)));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    proptest! {
        #[test]
        fn write_parse_roundtrip(code in 0i32..10, shape in prop::collection::vec(0usize..1000, 0..=6)) {
            let dt = DType::from_code(code).unwrap();
            let h = write_header(dt, &shape, false).unwrap();
            prop_assert_eq!(h.len() % 64, 0);
            prop_assert_eq!(h.last(), Some(&b'\n'));
            let p = parse_header(&h).unwrap();
            prop_assert_eq!(&p, &NpyHeader { dtype: dt, shape: shape.clone(), fortran_order: false, data_offset: h.len() });
            prop_assert_eq!(header_len(&h[..12]).unwrap(), ((1, 0), h.len()));
            // any truncation of the header is rejected
            let cut = h.len() / 2;
            prop_assert!(parse_header(&h[..cut]).is_err());
        }

        /// Valid headers with random mutations (bytes changed, inserted, removed, the file cut,
        /// the length field rewritten) never panic; what still parses is self-consistent, and
        /// every failure is an `Io` or `DType` error.
        #[test]
        fn mutated_headers_never_panic(
            code in 0i32..10,
            shape in prop::collection::vec(0usize..100_000, 0..=5),
            version in 1u8..=3,
            muts in prop::collection::vec((0u8..6, any::<prop::sample::Index>(), any::<u32>()), 1..10),
        ) {
            let dt = DType::from_code(code).unwrap();
            let dict = format!(
                "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                dt.npy_descr(),
                shape_repr(&shape)
            );
            let mut h = raw((version, 0), &dict);
            for (kind, idx, v) in muts {
                let i = idx.index(h.len().max(1));
                match kind {
                    0 if !h.is_empty() => h[i] = v as u8,
                    1 => h.insert(i.min(h.len()), v as u8),
                    2 if !h.is_empty() => {
                        h.remove(i);
                    }
                    3 => h.truncate(i),
                    4 if h.len() >= 12 => {
                        // the header length field: any value
                        if h[6] == 1 {
                            h[8..10].copy_from_slice(&(v as u16).to_le_bytes());
                        } else {
                            h[8..12].copy_from_slice(&v.to_le_bytes());
                        }
                    }
                    _ => h.push(v as u8),
                }
            }
            match parse_header(&h) {
                Ok(p) => {
                    prop_assert!(p.data_offset <= h.len());
                    prop_assert!(!p.fortran_order);
                    prop_assert!(crate::shape::checked_len(&p.shape).is_ok());
                    // any file length: a clean answer
                    for len in [0, h.len() as u64, p.data_offset as u64 + 7, u64::MAX] {
                        let _ = validate_len(&p, len);
                    }
                }
                Err(e) => prop_assert!(
                    matches!(e.kind(), crate::error::ErrorKind::Io | crate::error::ErrorKind::DType),
                    "{e}"
                ),
            }
        }

        /// Header text made of random fragments of the dict syntax never panics (deep nesting,
        /// stray quotes and escapes, huge and signed integers, names).
        #[test]
        fn token_soup_never_panics(
            tokens in prop::collection::vec(prop::sample::select(vec![
                "{", "}", "(", ")", "[", "]", ",", ":", "'descr'", "'shape'", "'fortran_order'",
                "'<f8'", "'|b1'", "'>i4'", "True", "False", "None", "3", "-1", "+7", "0", "L",
                "99999999999999999999999999999999999999999", " ", "'", "\"", "\\", "\n", "1.5",
                "x", "\u{e9}", "\u{ff}",
            ]), 0..80),
            version in 1u8..=3,
        ) {
            let _ = parse_header(&raw((version, 0), &tokens.concat()));
        }

        /// Shapes with huge extents: the header parses only when the element count fits
        /// `usize`, and the data size is then computed without overflow (or refused).
        #[test]
        fn huge_shapes_are_refused_or_exact(
            dims in prop::collection::vec(prop_oneof![
                0u64..4,
                Just(u64::MAX),
                Just(1u64 << 62),
                Just(1u64 << 32),
                Just(i64::MAX as u64),
            ], 0..5),
            code in 0i32..10,
            file_len in any::<u64>(),
        ) {
            let dt = DType::from_code(code).unwrap();
            let shape: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
            let tuple = match shape.len() {
                0 => "()".to_string(),
                1 => format!("({},)", shape[0]),
                _ => format!("({})", shape.join(", ")),
            };
            let dict = format!("{{'descr': '{}', 'fortran_order': False, 'shape': {tuple}, }}", dt.npy_descr());
            let h = raw((1, 0), &dict);
            let count = dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
            match parse_header(&h) {
                Ok(p) => {
                    prop_assert_eq!(count, Some(crate::shape::checked_len(&p.shape).unwrap() as u64));
                    let bytes = count.and_then(|n| n.checked_mul(dt.size() as u64));
                    prop_assert_eq!(p.data_len().ok(), bytes);
                    let want = bytes.and_then(|b| b.checked_add(h.len() as u64));
                    prop_assert_eq!(validate_len(&p, file_len).is_ok(), want == Some(file_len));
                }
                Err(e) => {
                    prop_assert!(count.is_none(), "refused a countable shape: {e}");
                    prop_assert_eq!(e.kind(), crate::error::ErrorKind::Io);
                }
            }
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut h = raw((1, 0), "");
            h.truncate(10);
            h[8..10].copy_from_slice(&(bytes.len() as u16).to_le_bytes());
            h.extend(&bytes);
            let _ = parse_header(&h);
            let _ = parse_header(&bytes);
        }
    }
}
