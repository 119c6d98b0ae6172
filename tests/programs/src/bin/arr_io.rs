//! `.npy` save/load of distributed arrays: round trips for every dtype, shape (0-d, zero-length,
//! uneven) and layout, saving views, loading into other layouts; interoperability with NumPy
//! both ways (when a Python with NumPy is found, see `tests/programs/python/arr_io.py`); and
//! the rejection of bad files with an `Io` error on every rank, without hanging.
//!
//! Test data is `value(dtype, i)` at C-order position `i`: a formula with an exact twin in the
//! Python script, so files are checked against data computed independently on each side.
use distarr_arrays::io::{load_npy, save_npy};
use distarr_arrays::{npy, DType, DistArray, ErrorKind, Layout, Scalar, SliceItem, C128, C64};
use distarr_mpitests::{abort_on_panic, check, finish, numpy_python_everywhere, run_python_on_root, shared_temp_dir};
use distarr_runtime::Runtime;
use std::path::{Path, PathBuf};

/// The NumPy side of this test.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/arr_io.py");

/// Element `i` (C order) of the test data of `dt`; `value()` in arr_io.py is the same formula.
fn value(dt: DType, i: u64) -> Scalar {
    match dt {
        DType::Bool => Scalar::Bool(i % 3 == 1),
        DType::I32 => Scalar::I32((i * 37 % 1000) as i32 - 500),
        DType::I64 => Scalar::I64((i as i64 - 5) * (1 << 40)),
        DType::U8 => Scalar::U8((i * 7 % 256) as u8),
        DType::U32 => Scalar::U32(i.wrapping_mul(4_000_000_007) as u32),
        DType::U64 => Scalar::U64(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        DType::F32 => Scalar::F32(i as f32 * 0.25 - 3.0),
        DType::F64 => Scalar::F64(i as f64 / 3.0 - 7.0),
        DType::C64 => Scalar::C64(C64 {
            re: i as f32 * 0.5,
            im: -(i as f32) * 0.25,
        }),
        DType::C128 => Scalar::C128(C128 {
            re: i as f64 / 7.0,
            im: 1.0 - i as f64 * 2.0,
        }),
    }
}

/// The bytes of the test data at the given C-order positions.
fn bytes_at(dt: DType, positions: impl IntoIterator<Item = usize>) -> Vec<u8> {
    positions
        .into_iter()
        .flat_map(|i| value(dt, i as u64).to_le_bytes())
        .collect()
}

/// The bytes of the first `n` elements of the test data.
fn expected(dt: DType, n: usize) -> Vec<u8> {
    bytes_at(dt, 0..n)
}

fn shape_str(shape: &[usize]) -> String {
    shape.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
}

/// Block, block-cyclic, replicated and on the last rank.
fn layouts(nd: usize, nranks: usize) -> Vec<Layout> {
    vec![
        Layout::Block,
        Layout::BlockCyclic {
            block: (0..nd).map(|d| d % 3 + 1).collect(),
        },
        Layout::Replicated,
        Layout::OnRank(nranks - 1),
    ]
}

/// A new array holding the test data, written by the last rank with one-sided puts.
/// **Collective.**
fn make(rt: &Runtime, dt: DType, shape: &[usize], layout: Layout) -> DistArray {
    let a = DistArray::empty(rt, shape, dt, layout).unwrap();
    rt.sync().unwrap();
    if rt.rank() == rt.nranks() - 1 {
        let lo = vec![0; shape.len()];
        a.put_region_bytes(&lo, shape, &expected(dt, shape.iter().product()))
            .unwrap();
    }
    rt.sync().unwrap();
    a
}

/// All of `a` in C order on every rank. **Collective.**
fn all_bytes(a: &DistArray) -> Vec<u8> {
    let rt = a.runtime();
    rt.sync().unwrap();
    let lo = vec![0; a.ndim()];
    let b = a.get_region_bytes(&lo, a.shape()).unwrap();
    rt.sync().unwrap();
    b
}

/// Checks a saved file byte for byte with plain `std::fs` (no distarr code): NumPy's header
/// for `dt` and `shape`, then `data`.
fn check_file(path: &Path, dt: DType, shape: &[usize], data: &[u8], what: &str) {
    let file = std::fs::read(path).unwrap_or_else(|e| panic!("{what}: cannot read {}: {e}", path.display()));
    let header = npy::write_header(dt, shape, false).unwrap();
    check(file.len() == header.len() + data.len(), || {
        format!(
            "{what}: file has {} bytes, want {} + {}",
            file.len(),
            header.len(),
            data.len()
        )
    });
    check(file[..header.len()] == header[..], || format!("{what}: header differs"));
    check(file[header.len()..] == data[..], || format!("{what}: data differs"));
}

/// Loads `path` into every layout and checks dtype, shape and data.
fn check_loads(rt: &Runtime, path: &Path, dt: DType, shape: &[usize], data: &[u8], what: &str) {
    for layout in layouts(shape.len(), rt.nranks()) {
        let b = load_npy(rt, path, layout.clone()).unwrap_or_else(|e| panic!("{what}: load as {layout:?}: {e}"));
        check(b.dtype() == dt && b.shape() == shape, || {
            format!("{what}: loaded {b:?}, want {} {shape:?}", dt.name())
        });
        check(all_bytes(&b) == data, || {
            format!("{what}: loaded as {layout:?}, data differs")
        });
        b.free().unwrap();
    }
}

/// Asserts an `Io` error whose message contains `needle` (on every rank that read the file).
#[track_caller]
fn expect_io<T: std::fmt::Debug>(r: distarr_arrays::Result<T>, needle: &str, what: &str) {
    // A well-formed file of a dtype distarr lacks is a DType error, a malformed one an Io error.
    let kind = if ["big-endian", "unsupported dtype", "structured"].contains(&needle) {
        ErrorKind::DType
    } else {
        ErrorKind::Io
    };
    match r {
        Ok(v) => check(false, || format!("{what}: expected an {kind:?} error, got Ok({v:?})")),
        Err(e) => check(e.kind() == kind && e.message().contains(needle), || {
            format!("{what}: expected an {kind:?} error containing {needle:?}, got {e}")
        }),
    }
}

/// Save in one layout, check the file, load into every layout; every dtype and many shapes.
fn round_trips(rt: &Runtime, dir: &Path, manifest: &mut Vec<String>) {
    let shapes: [&[usize]; 9] = [
        &[],
        &[0],
        &[3, 0, 2],
        &[1],
        &[17],
        &[5, 7],
        &[4, 3, 5],
        &[2, 1, 3, 1],
        &[3, 2, 2, 3, 2],
    ];
    let mut k = 0;
    for dt in DType::ALL {
        for shape in shapes {
            let lays = layouts(shape.len(), rt.nranks());
            let layout = lays[k % lays.len()].clone();
            let what = format!("round trip {} {shape:?} from {layout:?}", dt.name());
            let a = make(rt, dt, shape, layout);
            let name = format!("rt{k}_{}.npy", dt.name());
            let path = dir.join(&name);
            save_npy(&a, &path).unwrap_or_else(|e| panic!("{what}: save: {e}"));
            let want = expected(dt, shape.iter().product());
            check_file(&path, dt, shape, &want, &what);
            check_loads(rt, &path, dt, shape, &want, &what);
            manifest.push(format!("{name}|{}|{}|e|auto", dt.name(), shape_str(shape)));
            a.free().unwrap();
            k += 1;
        }
    }
    // Larger arrays: many rows per rank, rows crossing page boundaries, uneven blocks.
    for (dt, shape, layout) in [
        (DType::F64, vec![301, 41], Layout::Block),
        (
            DType::C128,
            vec![37, 19, 5],
            Layout::BlockCyclic { block: vec![4, 3, 2] },
        ),
        (DType::U8, vec![4099], Layout::BlockCyclic { block: vec![5] }),
    ] {
        let what = format!("large {} {shape:?} {layout:?}", dt.name());
        let a = make(rt, dt, &shape, layout);
        let name = format!("large_{}.npy", dt.name());
        let path = dir.join(&name);
        save_npy(&a, &path).unwrap();
        let want = expected(dt, shape.iter().product());
        check_file(&path, dt, &shape, &want, &what);
        check_loads(rt, &path, dt, &shape, &want, &what);
        manifest.push(format!("{name}|{}|{}|e|auto", dt.name(), shape_str(&shape)));
        // Saving over an existing, longer file truncates it.
        let small = make(rt, dt, &[3], Layout::Block);
        save_npy(&small, &path).unwrap();
        check_file(&path, dt, &[3], &expected(dt, 3), &format!("{what} overwritten"));
        // Everyone has read the file before rank 0 truncates it again.
        rt.barrier().unwrap();
        save_npy(&a, &path).unwrap();
    }
    // distarr's arange, as NumPy's `np.arange(n).reshape(shape).astype(dtype)`.
    for (k, dt) in DType::ALL.into_iter().enumerate() {
        let shape = [2, 3, 4];
        let lays = layouts(1, rt.nranks());
        let a = DistArray::arange(rt, 0.0, 24.0, 1.0, dt, lays[k % lays.len()].clone())
            .unwrap()
            .reshape(&shape)
            .unwrap();
        let name = format!("arange_{}.npy", dt.name());
        save_npy(&a, &dir.join(&name)).unwrap();
        manifest.push(format!(
            "{name}|{}|{}|np.arange(24).reshape((2, 3, 4)).astype('{}')|auto",
            dt.name(),
            shape_str(&shape),
            dt.name()
        ));
    }
}

/// A view to save: how distarr makes it, the NumPy expression, and the C-order base positions
/// of its elements (computed here with plain index arithmetic).
struct ViewCase {
    base_shape: Vec<usize>,
    make: fn(&DistArray) -> DistArray,
    expr: &'static str,
    shape: Vec<usize>,
    positions: Vec<usize>,
}

fn view_cases() -> Vec<ViewCase> {
    let grid = |shape: &[usize], f: &dyn Fn(&[usize]) -> usize| -> Vec<usize> {
        let mut out = Vec::new();
        let n: usize = shape.iter().product();
        for lin in 0..n {
            let mut idx = vec![0; shape.len()];
            let mut rest = lin;
            for d in (0..shape.len()).rev() {
                idx[d] = rest % shape[d];
                rest /= shape[d];
            }
            out.push(f(&idx));
        }
        out
    };
    vec![
        ViewCase {
            base_shape: vec![5, 7],
            make: |a| a.transpose(None).unwrap(),
            expr: "e.T",
            shape: vec![7, 5],
            positions: grid(&[7, 5], &|i| i[1] * 7 + i[0]),
        },
        ViewCase {
            base_shape: vec![5, 7],
            make: |a| {
                a.slice(&[
                    SliceItem::Range {
                        start: None,
                        stop: None,
                        step: 2,
                    },
                    SliceItem::Range {
                        start: None,
                        stop: None,
                        step: -1,
                    },
                ])
                .unwrap()
            },
            expr: "e[::2, ::-1]",
            shape: vec![3, 7],
            positions: grid(&[3, 7], &|i| 2 * i[0] * 7 + (6 - i[1])),
        },
        ViewCase {
            base_shape: vec![5, 7],
            make: |a| a.slice(&[SliceItem::Index(-4)]).unwrap(),
            expr: "e[-4]",
            shape: vec![7],
            positions: (7..14).collect(),
        },
        ViewCase {
            base_shape: vec![5, 7],
            make: |a| {
                a.slice(&[SliceItem::Index(2), SliceItem::FULL])
                    .unwrap()
                    .broadcast_to(&[4, 7])
                    .unwrap()
            },
            expr: "np.broadcast_to(e[2], (4, 7))",
            shape: vec![4, 7],
            positions: grid(&[4, 7], &|i| 14 + i[1]),
        },
        ViewCase {
            base_shape: vec![4, 3, 5],
            make: |a| a.swapaxes(0, 2).unwrap(),
            expr: "e.swapaxes(0, 2)",
            shape: vec![5, 3, 4],
            positions: grid(&[5, 3, 4], &|i| i[2] * 15 + i[1] * 5 + i[0]),
        },
        ViewCase {
            base_shape: vec![5, 7],
            make: |a| a.transpose(None).unwrap().reshape(&[35]).unwrap(),
            expr: "e.T.reshape(35)",
            shape: vec![35],
            positions: (0..35).map(|m| (m % 5) * 7 + m / 5).collect(),
        },
        ViewCase {
            base_shape: vec![6, 4],
            make: |a| {
                a.slice(&[
                    SliceItem::range(1, 5, 3),
                    SliceItem::NewAxis,
                    SliceItem::Range {
                        start: Some(-1),
                        stop: None,
                        step: -2,
                    },
                ])
                .unwrap()
            },
            expr: "e[1:5:3, None, ::-2]",
            shape: vec![2, 1, 2],
            positions: grid(&[2, 1, 2], &|i| (1 + 3 * i[0]) * 4 + (3 - 2 * i[2])),
        },
        ViewCase {
            base_shape: vec![5, 7],
            make: |a| a.slice(&[SliceItem::range(2, 2, 1)]).unwrap(),
            expr: "e[2:2]",
            shape: vec![0, 7],
            positions: vec![],
        },
    ]
}

/// Saving views (transposed, strided, reversed, broadcast, integer-indexed) writes exactly the
/// viewed elements in the view's C order.
fn views(rt: &Runtime, dir: &Path, manifest: &mut Vec<String>) {
    let mut k = 0;
    for (c, case) in view_cases().into_iter().enumerate() {
        for dt in [DType::ALL[c % 10], DType::ALL[(c + 3) % 10]] {
            let lays = layouts(case.base_shape.len(), rt.nranks());
            let layout = lays[k % lays.len()].clone();
            let what = format!("view {} of {} {:?} {layout:?}", case.expr, dt.name(), case.base_shape);
            let a = make(rt, dt, &case.base_shape, layout);
            let v = (case.make)(&a);
            check(v.shape() == case.shape, || {
                format!("{what}: view shape {:?}", v.shape())
            });
            let want = bytes_at(dt, case.positions.iter().copied());
            check(all_bytes(&v) == want, || format!("{what}: view data differs"));
            let name = format!("view{k}_{}.npy", dt.name());
            let path = dir.join(&name);
            save_npy(&v, &path).unwrap_or_else(|e| panic!("{what}: save: {e}"));
            check_file(&path, dt, &case.shape, &want, &what);
            check_loads(rt, &path, dt, &case.shape, &want, &what);
            manifest.push(format!(
                "{name}|{}|{}|{}|auto",
                dt.name(),
                shape_str(&case.base_shape),
                case.expr
            ));
            k += 1;
        }
    }
}

/// What loading a NumPy-written file must give.
enum Expect {
    /// The test data at these C-order positions, with this dtype and shape.
    Data(DType, Vec<usize>, Vec<usize>),
    /// distarr's `arange(0, 24).reshape(2, 3, 4)` as this dtype.
    Arange(DType),
    /// An `Io` error containing this text.
    Fail(&'static str),
}

/// Files written by NumPy (`np.save` and format versions 1.0, 2.0, 3.0), loaded into every
/// layout; files NumPy writes that distarr must refuse.
fn numpy_writes(rt: &Runtime, python: &str, dir: &Path) {
    let sub = dir.join("from_numpy");
    if rt.rank() == 0 {
        std::fs::create_dir_all(&sub).unwrap();
    }
    let mut cases: Vec<(String, String, Expect)> = Vec::new();
    let versions = ["1.0", "2.0", "3.0", "auto"];
    let shapes: [&[usize]; 5] = [&[], &[0], &[6], &[3, 4], &[2, 3, 5]];
    for (d, dt) in DType::ALL.into_iter().enumerate() {
        for (s, shape) in shapes.iter().enumerate() {
            let n: usize = shape.iter().product();
            cases.push((
                format!("{}|{}|e|{}", dt.name(), shape_str(shape), versions[(d + s) % 4]),
                format!("np_{}_{s}.npy", dt.name()),
                Expect::Data(dt, shape.to_vec(), (0..n).collect()),
            ));
        }
        cases.push((
            format!(
                "{}|2,3,4|np.arange(24).reshape((2, 3, 4)).astype('{}')|auto",
                dt.name(),
                dt.name()
            ),
            format!("np_arange_{}.npy", dt.name()),
            Expect::Arange(dt),
        ));
        // A non-contiguous array: NumPy writes it in C order.
        cases.push((
            format!("{}|9|e[::2]|auto", dt.name()),
            format!("np_strided_{}.npy", dt.name()),
            Expect::Data(dt, vec![5], vec![0, 2, 4, 6, 8]),
        ));
    }
    let refuse: [(&str, &str, &'static str); 8] = [
        ("np_fortran", "float64|3,4|np.asfortranarray(e)|auto", "Fortran"),
        ("np_transposed", "int32|3,4|e.T|1.0", "Fortran"),
        ("np_bigendian", "float64|5|e.astype('>f8')|auto", "big-endian"),
        (
            "np_object",
            "int64|3|np.array([1, 'a', None], dtype=object)|auto",
            "unsupported dtype",
        ),
        ("np_unicode", "int64|3|np.array(['ab', 'c'])|auto", "unsupported dtype"),
        ("np_float16", "float32|4|e.astype(np.float16)|auto", "unsupported dtype"),
        (
            "np_structured",
            "int64|3|np.zeros(3, dtype=[('a', '<f8'), ('b', '<i4')])|auto",
            "structured",
        ),
        ("np_int16", "int32|4|e.astype('<i2')|2.0", "unsupported dtype"),
    ];
    for (name, line, needle) in refuse {
        cases.push((line.to_string(), format!("{name}.npy"), Expect::Fail(needle)));
    }
    if rt.rank() == 0 {
        let text: String = cases.iter().map(|(line, name, _)| format!("{name}|{line}\n")).collect();
        std::fs::write(sub.join("manifest.txt"), text).unwrap();
    }
    rt.barrier().unwrap();
    run_python_on_root(rt, python, Path::new(SCRIPT), &["make", &sub.to_string_lossy()]);
    rt.barrier().unwrap();
    for (_, name, expect) in &cases {
        let path = sub.join(name);
        let what = format!("NumPy file {name}");
        match expect {
            Expect::Data(dt, shape, positions) => {
                check_loads(rt, &path, *dt, shape, &bytes_at(*dt, positions.iter().copied()), &what);
            }
            Expect::Arange(dt) => {
                let a = DistArray::arange(rt, 0.0, 24.0, 1.0, *dt, Layout::Block)
                    .unwrap()
                    .reshape(&[2, 3, 4])
                    .unwrap();
                check_loads(rt, &path, *dt, &[2, 3, 4], &all_bytes(&a), &what);
            }
            Expect::Fail(needle) => expect_io(load_npy(rt, &path, Layout::Block), needle, &what),
        }
    }
}

/// A version 1.0 `.npy` file with header dict text `dict` (padded like NumPy's) and `data`
/// zero bytes after it.
fn raw_npy(dict: &str, data: usize) -> Vec<u8> {
    let mut text = dict.to_string();
    while (10 + text.len() + 1) % 64 != 0 {
        text.push(' ');
    }
    text.push('\n');
    let mut f = b"\x93NUMPY\x01\x00".to_vec();
    f.extend_from_slice(&(text.len() as u16).to_le_bytes());
    f.extend_from_slice(text.as_bytes());
    f.resize(f.len() + data, 0);
    f
}

/// Bad files are refused with a clear `Io` error on every rank, and nobody hangs: each case is
/// followed by a successful collective load.
fn bad_files(rt: &Runtime, dir: &Path) {
    let good_header = npy::write_header(DType::F64, &[10], false).unwrap();
    let mut truncated = good_header.clone();
    truncated.resize(good_header.len() + 79, 0);
    let mut trailing = good_header.clone();
    trailing.resize(good_header.len() + 81, 0);
    let mut bad_magic = good_header.clone();
    bad_magic.resize(good_header.len() + 80, 0);
    bad_magic[1..6].copy_from_slice(b"NUMPX");
    let mut bad_version = good_header.clone();
    bad_version.resize(good_header.len() + 80, 0);
    bad_version[6] = 9;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated data", truncated, "truncated"),
        ("trailing data", trailing, "trailing"),
        ("bad magic", bad_magic, "magic"),
        ("bad version", bad_version, "version"),
        ("header cut short", good_header[..40].to_vec(), "truncated"),
        ("empty file", Vec::new(), "truncated"),
        ("only magic", b"\x93NUMPY".to_vec(), "truncated"),
        (
            "big-endian",
            raw_npy("{'descr': '>f8', 'fortran_order': False, 'shape': (10,), }", 80),
            "big-endian",
        ),
        (
            "fortran order",
            raw_npy("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 5), }", 80),
            "Fortran",
        ),
        (
            "object dtype",
            raw_npy("{'descr': '|O', 'fortran_order': False, 'shape': (10,), }", 80),
            "unsupported dtype",
        ),
        (
            "garbage header",
            raw_npy("{'descr': <f8', 'fortran_order': False, 'shape': (10,), }", 80),
            "malformed",
        ),
        ("binary garbage", raw_npy("\u{1}\u{7f}~}{", 80), "npy"),
        (
            "missing key",
            raw_npy("{'descr': '<f8', 'shape': (10,), }", 80),
            "correct keys",
        ),
        (
            "negative dimension",
            raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-10,), }", 80),
            "out of range",
        ),
        (
            "huge shape",
            raw_npy(
                "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
                80,
            ),
            "",
        ),
    ];
    let paths: Vec<PathBuf> = (0..cases.len()).map(|k| dir.join(format!("bad{k}.npy"))).collect();
    if rt.rank() == 0 {
        for ((_, bytes, _), path) in cases.iter().zip(&paths) {
            std::fs::write(path, bytes).unwrap();
        }
    }
    rt.barrier().unwrap();
    let good = make(rt, DType::I32, &[6, 5], Layout::Block);
    let good_path = dir.join("good.npy");
    save_npy(&good, &good_path).unwrap();
    let good_data = expected(DType::I32, 30);
    for ((what, _, needle), path) in cases.iter().zip(&paths) {
        for layout in [Layout::Block, Layout::Replicated, Layout::OnRank(0)] {
            expect_io(load_npy(rt, path, layout), needle, what);
        }
        let b = load_npy(rt, &good_path, Layout::BlockCyclic { block: vec![2, 2] }).unwrap();
        check(all_bytes(&b) == good_data, || format!("good load after {what}"));
    }
    // Not a file at all.
    expect_io(
        load_npy(rt, &dir.join("missing.npy"), Layout::Block),
        "",
        "missing file",
    );
    expect_io(load_npy(rt, dir, Layout::Block), "", "a directory");
    // A good file into an impossible layout: the same argument error on every rank.
    let e = load_npy(rt, &good_path, Layout::BlockCyclic { block: vec![2] }).unwrap_err();
    check(e.kind() == ErrorKind::InvalidArgument, || format!("bad layout: {e}"));
    let e = load_npy(rt, &good_path, Layout::OnRank(rt.nranks())).unwrap_err();
    check(e.kind() == ErrorKind::OutOfBounds, || format!("bad rank: {e}"));
    // Saving where no file can be made: an Io error everywhere (rank 0 creates the file).
    let r = save_npy(&good, &dir.join("no-such-dir").join("x.npy"));
    expect_io(
        r,
        if rt.rank() == 0 { "No such file" } else { "" },
        "save into a missing directory",
    );
    let r = save_npy(&good, dir);
    expect_io(r, "", "save over a directory");
    // Saving a freed array, or a view of one.
    let v = good.transpose(None).unwrap();
    good.clone().free().unwrap();
    for (what, a) in [("freed", &good), ("view of freed", &v)] {
        let e = save_npy(a, &good_path).unwrap_err();
        check(e.kind() == ErrorKind::Freed, || format!("save {what}: {e}"));
    }
    // The file was not touched by the refused saves.
    check_file(
        &good_path,
        DType::I32,
        &[6, 5],
        &good_data,
        "good file after refused saves",
    );
}

/// A version `major`.0 `.npy` file whose header is `dict` plus `pad` spaces and a newline (any
/// length: the data need not be aligned), followed by `data`.
fn npy_with(major: u8, dict: &str, pad: usize, data: &[u8]) -> Vec<u8> {
    let text = format!("{dict}{}\n", " ".repeat(pad));
    let mut f = b"\x93NUMPY".to_vec();
    f.extend([major, 0]);
    if major == 1 {
        f.extend((text.len() as u16).to_le_bytes());
    } else {
        f.extend((text.len() as u32).to_le_bytes());
    }
    f.extend(text.as_bytes());
    f.extend(data);
    f
}

/// Hostile files (regression tests of the loader's fixes): data at every misalignment (the
/// typed kernels need aligned elements), bool bytes other than 0 and 1 (read as NumPy's
/// `!= 0`), a FIFO (opening one blocks: refused before), more dimensions than NumPy allows,
/// headers beyond what distarr reads, and seeded random mutations of a good file (any error
/// but a clean one, every rank alike, then a good load). **Collective.**
fn hostile_files(rt: &Runtime, dir: &Path) {
    let write = |name: &str, bytes: &[u8]| -> PathBuf {
        let p = dir.join(name);
        if rt.rank() == 0 {
            std::fs::write(&p, bytes).unwrap();
        }
        p
    };
    // Unaligned data, every dtype, every offset modulo 16.
    let mut paths = Vec::new();
    for dt in DType::ALL {
        for pad in 0..16 {
            let dict = format!(
                "{{'descr': '{}', 'fortran_order': False, 'shape': (3, 5), }}",
                dt.npy_descr()
            );
            let data = expected(dt, 15);
            paths.push((
                dt,
                data.clone(),
                write(
                    &format!("unaligned_{}_{pad}.npy", dt.name()),
                    &npy_with(1 + (pad % 2) as u8, &dict, pad, &data),
                ),
            ));
        }
    }
    // Bool bytes other than 0/1.
    let raw_bools = [0u8, 1, 2, 255, 7, 0, 128];
    let bools = write(
        "bools.npy",
        &npy_with(
            1,
            "{'descr': '|b1', 'fortran_order': False, 'shape': (7,), }",
            3,
            &raw_bools,
        ),
    );
    // More dimensions than NumPy's 64; exactly 64 loads.
    let ones = |n: usize| format!("({})", vec!["1"; n].join(", "));
    let too_many = write(
        "ndim65.npy",
        &npy_with(
            1,
            &format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {}, }}", ones(65)),
            0,
            &[0; 8],
        ),
    );
    let ndim64 = write(
        "ndim64.npy",
        &npy_with(
            1,
            &format!("{{'descr': '<i4', 'fortran_order': False, 'shape': {}, }}", ones(64)),
            0,
            &7i32.to_le_bytes(),
        ),
    );
    // A version 2.0 header longer than the 1 MiB distarr reads.
    let long = write(
        "long_header.npy",
        &npy_with(
            2,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
            2 << 20,
            &[0; 8],
        ),
    );
    let fifo = dir.join("fifo.npy");
    if rt.rank() == 0 {
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path; mkfifo only creates a file system entry.
        let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
        check(rc == 0, || format!("mkfifo {}", fifo.display()));
    }
    rt.barrier().unwrap();
    for (dt, data, path) in &paths {
        check_loads(rt, path, *dt, &[3, 5], data, &format!("unaligned {}", path.display()));
    }
    let b = load_npy(rt, &bools, Layout::Block).unwrap();
    check(all_bytes(&b) == [0, 1, 1, 1, 1, 0, 1], || {
        format!("bools read as {:?}", all_bytes(&b))
    });
    b.free().unwrap();
    expect_io(load_npy(rt, &too_many, Layout::Block), "dimensions", "65 dimensions");
    let b = load_npy(rt, &ndim64, Layout::Block).unwrap();
    check(b.ndim() == 64 && all_bytes(&b) == 7i32.to_le_bytes(), || {
        "64 dimensions".into()
    });
    b.free().unwrap();
    expect_io(load_npy(rt, &long, Layout::Block), "at most", "a 2 MiB header");
    expect_io(load_npy(rt, &fifo, Layout::Block), "not a regular file", "a FIFO");
    expect_io(
        load_npy(rt, Path::new("/dev/zero"), Layout::Block),
        "not a regular file",
        "a device",
    );
    // Seeded mutations of a good file: every rank gets the same outcome, never a crash.
    let good = npy_with(
        1,
        "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }",
        5,
        &expected(DType::I32, 6),
    );
    let mut rng = distarr_mpitests::Rng::new(7, 7);
    for k in 0..60 {
        let mut f = good.clone();
        for _ in 0..1 + rng.below(3) {
            let i = rng.below(f.len() as u64) as usize;
            match rng.below(4) {
                0 => f[i] = rng.below(256) as u8,
                1 => f.truncate(i),
                2 => f.insert(i, rng.below(256) as u8),
                _ => f[i] ^= 1 << rng.below(8),
            }
        }
        let p = write(&format!("mutant{k}.npy"), &f);
        rt.barrier().unwrap();
        match load_npy(rt, &p, Layout::Block) {
            Ok(a) => {
                // what loads is what the (mutated) header says
                let h = npy::parse_header(&f).unwrap();
                check(a.shape() == h.shape && a.dtype() == h.dtype, || {
                    format!("mutant {k}: {a:?}")
                });
                a.free().unwrap();
            }
            Err(e) => check(
                matches!(e.kind(), ErrorKind::Io | ErrorKind::DType | ErrorKind::OutOfMemory),
                || format!("mutant {k}: {e}"),
            ),
        }
    }
}

fn main() {
    abort_on_panic();
    let rt = Runtime::init().unwrap();
    let dir = shared_temp_dir(&rt, "arr_io");
    let python = numpy_python_everywhere(&rt);
    if rt.rank() == 0 && python.is_none() {
        eprintln!("arr_io: no Python with NumPy found; skipping the NumPy interop checks");
    }
    let mut manifest = Vec::new();
    round_trips(&rt, &dir, &mut manifest);
    views(&rt, &dir, &mut manifest);
    if let Some(py) = &python {
        if rt.rank() == 0 {
            let text: String = manifest.iter().map(|l| format!("{l}\n")).collect();
            std::fs::write(dir.join("manifest.txt"), text).unwrap();
        }
        rt.barrier().unwrap();
        let out = run_python_on_root(&rt, py, Path::new(SCRIPT), &["check", &dir.to_string_lossy()]);
        if rt.rank() == 0 {
            eprint!("{out}");
        }
        numpy_writes(&rt, py, &dir);
    }
    bad_files(&rt, &dir);
    hostile_files(&rt, &dir);
    rt.barrier().unwrap();
    if rt.rank() == 0 {
        std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("cannot remove {}: {e}", dir.display()));
    }
    finish(&rt);
}
