//! What the examples share: command-line arguments and the `--check` verdict.
//!
//! Every example takes `SIZE [STEPS] [--check]`. With `--check` it compares its result with a
//! reference computed on rank 0 with plain loops (or a closed form); the verdict is broadcast,
//! and every rank prints `distarr-test: ok rank=R` after finalizing (the line the multi-rank
//! test harness, `tests/multirank.rs`, looks for) or exits with status 1.
use distarr::runtime::Runtime;

/// `SIZE [STEPS] [--check]` from the command line.
pub struct Args {
    /// The problem size.
    pub size: usize,
    /// Iterations or time steps.
    pub steps: usize,
    /// Whether to verify the result.
    pub check: bool,
}

impl Args {
    /// Parses the command line, with defaults for the numbers; exits with a usage message on
    /// anything else.
    pub fn parse(usage: &str, size: usize, steps: usize) -> Args {
        let mut args = Args {
            size,
            steps,
            check: false,
        };
        let mut numbers = Vec::new();
        for a in std::env::args().skip(1) {
            match a.as_str() {
                "--check" => args.check = true,
                _ => match a.parse::<usize>() {
                    Ok(n) => numbers.push(n),
                    Err(_) => {
                        eprintln!("usage: {usage}");
                        std::process::exit(2);
                    }
                },
            }
        }
        if let Some(&n) = numbers.first() {
            args.size = n;
        }
        if let Some(&n) = numbers.get(1) {
            args.steps = n;
        }
        args
    }
}

/// Ends a run: with `--check`, rank 0's verdict `ok` (ignored on other ranks) is broadcast,
/// then the runtime is finalized and every rank prints the success line or exits with status
/// 1. **Collective.**
pub fn conclude(rt: &Runtime, args: &Args, ok: bool, report: &str) -> Result<(), Box<dyn std::error::Error>> {
    let me = rt.rank();
    let mut verdict = [u8::from(ok || me != 0)];
    if args.check {
        rt.broadcast(&mut verdict, 0)?;
        if me == 0 {
            eprintln!("check: {report}");
        }
    }
    rt.finalize()?;
    if !args.check {
        return Ok(());
    }
    if verdict[0] == 0 {
        eprintln!("[rank {me}] check FAILED");
        std::process::exit(1);
    }
    println!("distarr-test: ok rank={me}");
    Ok(())
}
