//! MPI datatypes: predefined ones (borrowed, never freed) and derived ones (owned, freed on drop).
use crate::consts::*;
use crate::error::{check, Result};
use mpi_sys::MPI_Datatype;

/// An MPI datatype. Predefined types are borrowed; derived types are owned and freed on drop.
#[derive(Debug)]
pub struct Datatype {
    raw: MPI_Datatype,
    owned: bool,
}

impl Datatype {
    /// `MPI_BYTE`.
    #[inline]
    pub fn byte() -> Datatype {
        Datatype {
            // SAFETY: a `const MPI_Datatype` from shim.c, never written after load.
            raw: unsafe { DISTARR_MPI_BYTE },
            owned: false,
        }
    }

    /// The raw handle, for passing to MPI calls inside this crate.
    #[inline]
    pub(crate) fn raw(&self) -> MPI_Datatype {
        self.raw
    }

    /// `MPI_Type_contiguous(count, base)` + `MPI_Type_commit`: an owned derived type.
    /// Local (not collective).
    #[doc(alias = "MPI_Type_contiguous")]
    pub fn contiguous(count: usize, base: &Datatype) -> Result<Datatype> {
        let n = crate::count(count, "MPI_Type_contiguous")?;
        let mut raw = datatype_null();
        check(
            // SAFETY:
            // - `base.raw` is a valid datatype (predefined or committed by this type);
            // - `raw` is a valid out-parameter.
            unsafe { mpi_sys::MPI_Type_contiguous(n, base.raw, &mut raw) },
            "MPI_Type_contiguous",
        )?;
        let mut t = Datatype { raw, owned: true };
        // SAFETY: `t.raw` was just created by MPI_Type_contiguous and is not committed yet.
        check(unsafe { mpi_sys::MPI_Type_commit(&mut t.raw) }, "MPI_Type_commit")?;
        Ok(t)
    }
}

impl Drop for Datatype {
    fn drop(&mut self) {
        if self.owned && !crate::env::finalized_quiet() {
            // SAFETY:
            // - `raw` is a derived type this value owns exclusively (created in `contiguous`);
            // - MPI is still initialised (checked above). Freeing a type with pending
            //   operations is allowed by MPI (the free is deferred).
            let _ = unsafe { mpi_sys::MPI_Type_free(&mut self.raw) };
        }
    }
}

/// Rust element types with an exactly matching predefined MPI datatype.
///
/// # Safety
/// `datatype()` must return a predefined datatype whose size and layout equal `Self`'s.
pub unsafe trait Equivalence: Copy + Send + Sync + 'static {
    /// The matching predefined datatype (borrowed).
    fn datatype() -> Datatype;
}

macro_rules! equivalence {
    ($($t:ty => $sym:ident),* $(,)?) => {$(
        // SAFETY: the MPI type named here has the same size and layout as the Rust type
        // (fixed-width integers, IEEE floats, C `_Bool` for `bool`, which is 1 byte on every
        // ABI Rust and MPI support).
        unsafe impl Equivalence for $t {
            #[inline]
            fn datatype() -> Datatype {
                // SAFETY: a `const MPI_Datatype` from shim.c, never written after load.
                Datatype { raw: unsafe { $sym }, owned: false }
            }
        }
    )*};
}

equivalence! {
    i8 => DISTARR_MPI_INT8_T,
    u8 => DISTARR_MPI_UINT8_T,
    i32 => DISTARR_MPI_INT32_T,
    u32 => DISTARR_MPI_UINT32_T,
    i64 => DISTARR_MPI_INT64_T,
    u64 => DISTARR_MPI_UINT64_T,
    f32 => DISTARR_MPI_FLOAT,
    f64 => DISTARR_MPI_DOUBLE,
    bool => DISTARR_MPI_C_BOOL,
    [f32; 2] => DISTARR_MPI_C_FLOAT_COMPLEX,
    [f64; 2] => DISTARR_MPI_C_DOUBLE_COMPLEX,
}
