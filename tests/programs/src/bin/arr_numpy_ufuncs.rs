//! NumPy differential test of element-wise type rules and integer/float semantics.
//!
//! For every pair of dtypes among bool, uint8, int32, uint32, int64, uint64, float32, float64
//! and every binary ufunc, distarr computes `op(x[:, None], y[None, :])` over a table of
//! interesting values (zero, ±1, extremes that wrap, NaN, ±inf, ±0.0, values whose floor
//! division and remainder depend on signs), likewise every unary ufunc and operations with
//! Python-style scalars, and saves inputs and results as `.npy` files (or records the error
//! kind). Rank 0 then runs `tests/programs/python/ufunc_types.py`, which computes the same with
//! NumPy and compares dtypes and values, accepting only the differences that distarr's ufunc
//! docs explain. Skipped (passing) when no Python with NumPy is found.
use distarr_arrays::io::save_npy;
use distarr_arrays::ufunc::{binary, unary, BinaryOp, Operand, UnaryOp};
use distarr_arrays::{DType, DistArray, Layout, Scalar};
use distarr_mpitests::{abort_on_panic, finish, numpy_python_everywhere, run_python_on_root, shared_temp_dir};
use distarr_runtime::Runtime;
use std::path::Path;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/ufunc_types.py");

const DTYPES: [DType; 8] = [
    DType::Bool,
    DType::U8,
    DType::I32,
    DType::U32,
    DType::I64,
    DType::U64,
    DType::F32,
    DType::F64,
];

/// Binary ufuncs and their NumPy names.
const BINARY: [(BinaryOp, &str); 23] = [
    (BinaryOp::Add, "add"),
    (BinaryOp::Subtract, "subtract"),
    (BinaryOp::Multiply, "multiply"),
    (BinaryOp::Divide, "true_divide"),
    (BinaryOp::FloorDivide, "floor_divide"),
    (BinaryOp::Remainder, "remainder"),
    (BinaryOp::Power, "power"),
    (BinaryOp::Maximum, "maximum"),
    (BinaryOp::Minimum, "minimum"),
    (BinaryOp::Equal, "equal"),
    (BinaryOp::NotEqual, "not_equal"),
    (BinaryOp::Less, "less"),
    (BinaryOp::LessEqual, "less_equal"),
    (BinaryOp::Greater, "greater"),
    (BinaryOp::GreaterEqual, "greater_equal"),
    (BinaryOp::LogicalAnd, "logical_and"),
    (BinaryOp::LogicalOr, "logical_or"),
    (BinaryOp::LogicalXor, "logical_xor"),
    (BinaryOp::BitwiseAnd, "bitwise_and"),
    (BinaryOp::BitwiseOr, "bitwise_or"),
    (BinaryOp::BitwiseXor, "bitwise_xor"),
    (BinaryOp::Arctan2, "arctan2"),
    (BinaryOp::Hypot, "hypot"),
];

/// Unary ufuncs and their NumPy names.
const UNARY: [(UnaryOp, &str); 30] = [
    (UnaryOp::Negative, "negative"),
    (UnaryOp::Positive, "positive"),
    (UnaryOp::Absolute, "absolute"),
    (UnaryOp::Square, "square"),
    (UnaryOp::Sign, "sign"),
    (UnaryOp::Invert, "invert"),
    (UnaryOp::LogicalNot, "logical_not"),
    (UnaryOp::Sqrt, "sqrt"),
    (UnaryOp::Exp, "exp"),
    (UnaryOp::Log, "log"),
    (UnaryOp::Log2, "log2"),
    (UnaryOp::Log10, "log10"),
    (UnaryOp::Expm1, "expm1"),
    (UnaryOp::Log1p, "log1p"),
    (UnaryOp::Sin, "sin"),
    (UnaryOp::Cos, "cos"),
    (UnaryOp::Tan, "tan"),
    (UnaryOp::Arcsin, "arcsin"),
    (UnaryOp::Arccos, "arccos"),
    (UnaryOp::Arctan, "arctan"),
    (UnaryOp::Sinh, "sinh"),
    (UnaryOp::Cosh, "cosh"),
    (UnaryOp::Tanh, "tanh"),
    (UnaryOp::Floor, "floor"),
    (UnaryOp::Ceil, "ceil"),
    (UnaryOp::Trunc, "trunc"),
    (UnaryOp::Rint, "rint"),
    (UnaryOp::Isnan, "isnan"),
    (UnaryOp::Isinf, "isinf"),
    (UnaryOp::Isfinite, "isfinite"),
];

/// The test values of `dt` (16 of each): zero, small values of both signs, the extremes that
/// make arithmetic wrap, and for floats ±0.0, ±inf, NaN and values where floor division by
/// a float is not floor of the quotient (1.0 // 0.1 == 9.0).
fn values(dt: DType) -> Vec<Scalar> {
    match dt {
        DType::Bool => (0..16).map(|i| Scalar::Bool(i % 3 == 1)).collect(),
        DType::U8 => [0u8, 1, 2, 3, 4, 5, 7, 13, 64, 100, 127, 128, 200, 254, 255, 17]
            .map(Scalar::U8)
            .to_vec(),
        DType::U32 => [
            0u32,
            1,
            2,
            3,
            5,
            7,
            13,
            64,
            100,
            255,
            65536,
            1 << 31,
            u32::MAX - 1,
            u32::MAX,
            17,
            4,
        ]
        .map(Scalar::U32)
        .to_vec(),
        DType::U64 => [
            0u64,
            1,
            2,
            3,
            5,
            7,
            13,
            64,
            100,
            255,
            1 << 32,
            1 << 63,
            u64::MAX - 1,
            u64::MAX,
            17,
            4,
        ]
        .map(Scalar::U64)
        .to_vec(),
        DType::I32 => [
            0i32,
            1,
            -1,
            2,
            -2,
            3,
            -3,
            7,
            -7,
            100,
            -128,
            i32::MAX,
            i32::MIN,
            i32::MIN + 1,
            13,
            -13,
        ]
        .map(Scalar::I32)
        .to_vec(),
        DType::I64 => [
            0i64,
            1,
            -1,
            2,
            -2,
            3,
            -3,
            7,
            -7,
            100,
            1 << 40,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
            13,
            -13,
        ]
        .map(Scalar::I64)
        .to_vec(),
        DType::F32 => [
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            0.5,
            -2.5,
            3.0,
            -7.0,
            0.1,
            1e10,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            1e-40,
            2.0,
            -0.3,
        ]
        .map(Scalar::F32)
        .to_vec(),
        DType::F64 => [
            0.0f64,
            -0.0,
            1.0,
            -1.0,
            0.5,
            -2.5,
            3.0,
            -7.0,
            0.1,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            5e-324,
            2.0,
            -0.3,
        ]
        .map(Scalar::F64)
        .to_vec(),
        other => unreachable!("no test values for {other}"),
    }
}

/// Non-negative exponents for `power` (NumPy refuses negative integer powers of integers).
fn exponents(dt: DType) -> Vec<Scalar> {
    let small = [0u8, 1, 2, 3, 4, 5, 7, 10, 31, 32, 33, 62, 63, 64, 65, 100];
    match dt {
        DType::F32 => [
            0.0f32,
            1.0,
            2.0,
            3.0,
            0.5,
            -1.0,
            -0.5,
            2.5,
            -2.0,
            10.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            0.1,
            100.0,
            -3.0,
        ]
        .map(Scalar::F32)
        .to_vec(),
        DType::F64 => [
            0.0f64,
            1.0,
            2.0,
            3.0,
            0.5,
            -1.0,
            -0.5,
            2.5,
            -2.0,
            10.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            0.1,
            100.0,
            -3.0,
        ]
        .map(Scalar::F64)
        .to_vec(),
        _ => small.iter().map(|&v| Scalar::U8(v).cast_to(dt)).collect(),
    }
}

/// A 1-D array of `vals` (all of one dtype), on every rank. **Collective.**
fn array(rt: &Runtime, dt: DType, vals: &[Scalar]) -> DistArray {
    let a = DistArray::empty(rt, &[vals.len()], dt, Layout::BlockCyclic { block: vec![3] }).unwrap();
    rt.sync().unwrap();
    if rt.rank() == 0 {
        let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        a.put_region_bytes(&[0], &[vals.len()], &bytes).unwrap();
    }
    rt.sync().unwrap();
    a
}

/// Saves `r` as `name` and returns the manifest's result field: the file name, or `ERR:kind`.
fn outcome(r: distarr_arrays::Result<DistArray>, dir: &Path, name: String) -> String {
    match r {
        Ok(a) => {
            save_npy(&a, &dir.join(&name)).unwrap();
            name
        }
        Err(e) => format!("ERR:{:?}", e.kind()),
    }
}

fn main() {
    abort_on_panic();
    let rt = Runtime::init().unwrap();
    let Some(python) = numpy_python_everywhere(&rt) else {
        if rt.rank() == 0 {
            eprintln!("arr_numpy_ufuncs: no Python with NumPy found; skipped");
        }
        finish(&rt);
        return;
    };
    let dir = shared_temp_dir(&rt, "arr_numpy_ufuncs");
    let mut manifest = Vec::new();
    let mut cols = Vec::new();
    let mut rows = Vec::new();
    let mut pows = Vec::new();
    let mut flat = Vec::new();
    for dt in DTYPES {
        let x = array(&rt, dt, &values(dt));
        let e = array(&rt, dt, &exponents(dt));
        save_npy(&x, &dir.join(format!("x_{dt}.npy"))).unwrap();
        save_npy(&e, &dir.join(format!("e_{dt}.npy"))).unwrap();
        cols.push(x.reshape(&[16, 1]).unwrap());
        rows.push(x.reshape(&[1, 16]).unwrap());
        pows.push(e.reshape(&[1, 16]).unwrap());
        flat.push(x);
    }
    // Binary: x[:, None] op y[None, :] for every dtype pair (power: non-negative exponents).
    for (op, name) in BINARY {
        for (i, a) in DTYPES.iter().enumerate() {
            for (j, b) in DTYPES.iter().enumerate() {
                let (ys, yfile) = if op == BinaryOp::Power {
                    (&pows[j], format!("e_{b}.npy"))
                } else {
                    (&rows[j], format!("x_{b}.npy"))
                };
                let r = binary(op, Operand::Array(&cols[i]), Operand::Array(ys), None);
                let res = outcome(r, &dir, format!("b_{name}_{a}_{b}.npy"));
                manifest.push(format!("bin|{name}|{a}|{b}|x_{a}.npy|{yfile}|{res}"));
            }
        }
        // Negative integer powers are refused, by value.
        if op == BinaryOp::Power {
            for (i, a) in DTYPES.iter().enumerate() {
                let r = binary(op, Operand::Array(&cols[i]), Operand::Array(&rows[i]), None);
                let res = outcome(r, &dir, format!("b_power_self_{a}.npy"));
                manifest.push(format!("bin|power|{a}|{a}|x_{a}.npy|x_{a}.npy|{res}"));
            }
        }
    }
    // Unary.
    for (op, name) in UNARY {
        for (i, a) in DTYPES.iter().enumerate() {
            let r = unary(op, &flat[i], None);
            let res = outcome(r, &dir, format!("u_{name}_{a}.npy"));
            manifest.push(format!("un|{name}|{a}|x_{a}.npy|{res}"));
        }
    }
    // Python scalars on the right: weak (NEP 50) promotion.
    let scalars = [
        (Scalar::Bool(true), "True"),
        (Scalar::I64(3), "3"),
        (Scalar::I64(-3), "-3"),
        (Scalar::F64(2.5), "2.5"),
    ];
    let scalar_ops = [
        (BinaryOp::Add, "add"),
        (BinaryOp::Multiply, "multiply"),
        (BinaryOp::Divide, "true_divide"),
        (BinaryOp::FloorDivide, "floor_divide"),
        (BinaryOp::Remainder, "remainder"),
        (BinaryOp::Maximum, "maximum"),
        (BinaryOp::Less, "less"),
        (BinaryOp::BitwiseAnd, "bitwise_and"),
    ];
    for (op, name) in scalar_ops {
        for (i, a) in DTYPES.iter().enumerate() {
            for (k, (s, lit)) in scalars.iter().enumerate() {
                if *lit == "-3" && !a.is_signed() && !a.is_float() {
                    continue; // NumPy: OverflowError for a negative int and an unsigned array
                }
                let r = binary(op, Operand::Array(&flat[i]), Operand::Scalar(*s), None);
                let res = outcome(r, &dir, format!("s_{name}_{a}_{k}.npy"));
                manifest.push(format!("sc|{name}|{a}|{lit}|x_{a}.npy|{res}"));
            }
        }
    }
    if rt.rank() == 0 {
        let text: String = manifest.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(dir.join("manifest.txt"), text).unwrap();
    }
    rt.barrier().unwrap();
    let out = run_python_on_root(&rt, &python, Path::new(SCRIPT), &[&dir.to_string_lossy()]);
    if rt.rank() == 0 {
        eprint!("{out}");
        std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("cannot remove {}: {e}", dir.display()));
    }
    finish(&rt);
}
