//! Keeps the committed header `c-api/include/distarr.h` in agreement with the Rust exports:
//! regenerates it with cbindgen (config `c-api/cbindgen.toml`) and compares. Run with
//! `DISTARR_BLESS=1` to rewrite the committed header after changing the ABI.
use std::path::PathBuf;

#[test]
fn header_matches_rust_exports() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("read cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen cannot generate the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let generated = String::from_utf8(generated).expect("header is UTF-8");
    let path = crate_dir.join("include").join("distarr.h");
    if std::env::var_os("DISTARR_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).expect("write the header");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "{} is out of date with the Rust exports (first difference at line {}:\n  committed: {:?}\n  generated: {:?}).\n\
             Regenerate it with `DISTARR_BLESS=1 cargo test -p distarr-capi --test header` and review the diff.",
            path.display(),
            first + 1,
            committed.lines().nth(first),
            generated.lines().nth(first),
        );
    }
}

/// Every exported function is declared in the header, and nothing else is (a second, simple
/// check that does not depend on cbindgen: it reads the Rust sources).
#[test]
fn header_declares_every_export() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(crate_dir.join("include/distarr.h")).expect("read header");
    let mut exported = Vec::new();
    for entry in std::fs::read_dir(crate_dir.join("src")).expect("read src") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read source");
        let mut lines = text.lines();
        while let Some(l) = lines.next() {
            if l.trim() == "#[no_mangle]" {
                let sig = lines.next().expect("item after #[no_mangle]");
                let name = sig
                    .split("fn ")
                    .nth(1)
                    .and_then(|s| s.split('(').next())
                    .unwrap_or_else(|| panic!("not a function: {sig}"));
                exported.push(name.to_string());
            }
        }
    }
    exported.sort();
    let mut declared: Vec<String> = header
        .lines()
        .filter(|l| !l.trim_start().starts_with("//") && !l.trim_start().starts_with('*'))
        .filter_map(|l| {
            let at = l.find("distarr_")?;
            let rest = &l[at..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest[name.len()..].starts_with('(').then_some(name)
        })
        .collect();
    declared.sort();
    declared.dedup();
    assert_eq!(exported, declared, "exported functions vs header declarations");
    assert!(exported.len() >= 30, "expected the PGAS API, found {exported:?}");
}

/// The Fortran module `c-api/fortran/distarr_f.f90` defines every header constant with the same
/// value, and binds every function of the header.
#[test]
fn fortran_module_matches_header() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(crate_dir.join("include/distarr.h")).expect("read header");
    let module = std::fs::read_to_string(crate_dir.join("fortran/distarr_f.f90")).expect("read Fortran module");
    let mut c_consts: Vec<(String, String)> = header
        .lines()
        .filter_map(|l| {
            let mut w = l.strip_prefix("#define ")?.split_whitespace();
            let (name, value) = (w.next()?, w.next()?);
            (name.starts_with("DISTARR_") && name != "DISTARR_H").then(|| (name.to_string(), value.to_string()))
        })
        .collect();
    let mut f_consts: Vec<(String, String)> = module
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l
                .strip_prefix("integer(c_int), parameter ::")
                .or_else(|| l.strip_prefix("integer(c_int64_t), parameter ::"))?;
            let (name, value) = rest.split_once('=')?;
            // C's INT64_MIN and INT32_MIN have no literals in Fortran.
            let value = match value.trim() {
                "-huge(0_c_int64_t) - 1_c_int64_t" => "INT64_MIN",
                "-huge(0_c_int) - 1_c_int" => "INT32_MIN",
                v => v,
            };
            Some((name.trim().to_string(), value.to_string()))
        })
        .collect();
    c_consts.sort();
    f_consts.sort();
    assert_eq!(c_consts, f_consts, "header constants vs Fortran parameters");

    let c_funcs: std::collections::BTreeSet<String> = header
        .lines()
        .filter(|l| !l.starts_with("//") && !l.starts_with("#") && !l.starts_with(' '))
        .filter_map(|l| {
            let at = l.find("distarr_")?;
            let name: String = l[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            l[at + name.len()..].starts_with('(').then_some(name)
        })
        .collect();
    let f_funcs: std::collections::BTreeSet<String> = module
        .split("bind(C, name=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next().map(str::to_string))
        .filter(|n| n.starts_with("distarr_"))
        .collect();
    assert_eq!(c_funcs, f_funcs, "header functions vs Fortran interfaces");
}
