//! The constants `shim.c` exports, read through small accessors.
use mpi_sys::{MPI_Comm, MPI_Datatype, MPI_Errhandler, MPI_Group, MPI_Info, MPI_Op, MPI_Request, MPI_Status, MPI_Win};
use std::ffi::c_void;

#[allow(non_upper_case_globals)]
extern "C" {
    static DISTARR_MPI_REPLACE: MPI_Op;
    static DISTARR_MPI_NO_OP: MPI_Op;
    static DISTARR_MPI_SUM: MPI_Op;
    static DISTARR_MPI_PROD: MPI_Op;
    static DISTARR_MPI_MIN: MPI_Op;
    static DISTARR_MPI_MAX: MPI_Op;
    static DISTARR_MPI_BAND: MPI_Op;
    static DISTARR_MPI_BOR: MPI_Op;
    static DISTARR_MPI_BXOR: MPI_Op;
    static DISTARR_MPI_LAND: MPI_Op;
    static DISTARR_MPI_LOR: MPI_Op;

    pub(crate) static DISTARR_MPI_BYTE: MPI_Datatype;
    pub(crate) static DISTARR_MPI_INT8_T: MPI_Datatype;
    pub(crate) static DISTARR_MPI_UINT8_T: MPI_Datatype;
    pub(crate) static DISTARR_MPI_INT32_T: MPI_Datatype;
    pub(crate) static DISTARR_MPI_UINT32_T: MPI_Datatype;
    pub(crate) static DISTARR_MPI_INT64_T: MPI_Datatype;
    pub(crate) static DISTARR_MPI_UINT64_T: MPI_Datatype;
    pub(crate) static DISTARR_MPI_FLOAT: MPI_Datatype;
    pub(crate) static DISTARR_MPI_DOUBLE: MPI_Datatype;
    pub(crate) static DISTARR_MPI_C_BOOL: MPI_Datatype;
    pub(crate) static DISTARR_MPI_C_FLOAT_COMPLEX: MPI_Datatype;
    pub(crate) static DISTARR_MPI_C_DOUBLE_COMPLEX: MPI_Datatype;
    pub(crate) static DISTARR_MPI_DATATYPE_NULL: MPI_Datatype;

    static DISTARR_MPI_COMM_WORLD: MPI_Comm;
    static DISTARR_MPI_COMM_SELF: MPI_Comm;
    static DISTARR_MPI_COMM_NULL: MPI_Comm;
    static DISTARR_MPI_GROUP_NULL: MPI_Group;
    static DISTARR_MPI_INFO_NULL: MPI_Info;
    static DISTARR_MPI_WIN_NULL: MPI_Win;
    static DISTARR_MPI_REQUEST_NULL: MPI_Request;
    static DISTARR_MPI_ERRORS_RETURN: MPI_Errhandler;

    static DISTARR_MPI_SUCCESS: i32;
    static DISTARR_MPI_MODE_NOCHECK: i32;
    static DISTARR_MPI_MODE_NOPRECEDE: i32;
    static DISTARR_MPI_MODE_NOSUCCEED: i32;
    static DISTARR_MPI_MODE_NOSTORE: i32;
    static DISTARR_MPI_MODE_NOPUT: i32;
    static DISTARR_MPI_LOCK_EXCLUSIVE: i32;
    static DISTARR_MPI_LOCK_SHARED: i32;
    static DISTARR_MPI_COMM_TYPE_SHARED: i32;
    static DISTARR_MPI_UNDEFINED: i32;
    static DISTARR_MPI_ANY_SOURCE: i32;
    static DISTARR_MPI_ANY_TAG: i32;
    static DISTARR_MPI_THREAD_SINGLE: i32;
    static DISTARR_MPI_THREAD_FUNNELED: i32;
    static DISTARR_MPI_THREAD_SERIALIZED: i32;
    static DISTARR_MPI_THREAD_MULTIPLE: i32;
    static DISTARR_MPI_MAX_ERROR_STRING: i32;
    static DISTARR_MPI_MAX_LIBRARY_VERSION_STRING: i32;
    static DISTARR_MPI_WIN_UNIFIED: i32;
    static DISTARR_MPI_WIN_MODEL: i32;
    static DISTARR_MPI_IN_PLACE: *mut c_void;
    static DISTARR_MPI_STATUS_IGNORE: *mut MPI_Status;
    static DISTARR_MPI_FLAVOR: i32;

    pub(crate) fn distarr_mpi_comm_f2c(f: mpi_sys::RSMPI_Fint) -> MPI_Comm;
}

/// Defines accessors that copy one shim constant each.
macro_rules! shim_consts {
    ($($(#[$m:meta])* $vis:vis fn $name:ident() -> $t:ty = $sym:ident;)*) => {$(
        $(#[$m])*
        #[inline]
        $vis fn $name() -> $t {
            // SAFETY:
            // - the symbol is a `const` object defined in shim.c with exactly this C type;
            // - it is initialised at load time and never written, so reading it cannot race.
            unsafe { $sym }
        }
    )*};
}

shim_consts! {
    pub(crate) fn success() -> i32 = DISTARR_MPI_SUCCESS;
    pub(crate) fn mode_nocheck() -> i32 = DISTARR_MPI_MODE_NOCHECK;
    pub(crate) fn mode_noprecede() -> i32 = DISTARR_MPI_MODE_NOPRECEDE;
    pub(crate) fn mode_nosucceed() -> i32 = DISTARR_MPI_MODE_NOSUCCEED;
    pub(crate) fn mode_nostore() -> i32 = DISTARR_MPI_MODE_NOSTORE;
    pub(crate) fn mode_noput() -> i32 = DISTARR_MPI_MODE_NOPUT;
    pub(crate) fn lock_exclusive() -> i32 = DISTARR_MPI_LOCK_EXCLUSIVE;
    pub(crate) fn lock_shared() -> i32 = DISTARR_MPI_LOCK_SHARED;
    pub(crate) fn comm_type_shared() -> i32 = DISTARR_MPI_COMM_TYPE_SHARED;
    pub(crate) fn undefined() -> i32 = DISTARR_MPI_UNDEFINED;
    pub(crate) fn any_source() -> i32 = DISTARR_MPI_ANY_SOURCE;
    pub(crate) fn any_tag() -> i32 = DISTARR_MPI_ANY_TAG;
    pub(crate) fn thread_single() -> i32 = DISTARR_MPI_THREAD_SINGLE;
    pub(crate) fn thread_funneled() -> i32 = DISTARR_MPI_THREAD_FUNNELED;
    pub(crate) fn thread_serialized() -> i32 = DISTARR_MPI_THREAD_SERIALIZED;
    pub(crate) fn thread_multiple() -> i32 = DISTARR_MPI_THREAD_MULTIPLE;
    pub(crate) fn max_error_string() -> i32 = DISTARR_MPI_MAX_ERROR_STRING;
    pub(crate) fn max_library_version_string() -> i32 = DISTARR_MPI_MAX_LIBRARY_VERSION_STRING;
    pub(crate) fn win_unified() -> i32 = DISTARR_MPI_WIN_UNIFIED;
    pub(crate) fn win_model() -> i32 = DISTARR_MPI_WIN_MODEL;
    pub(crate) fn in_place() -> *mut c_void = DISTARR_MPI_IN_PLACE;
    pub(crate) fn status_ignore() -> *mut MPI_Status = DISTARR_MPI_STATUS_IGNORE;
    pub(crate) fn comm_world() -> MPI_Comm = DISTARR_MPI_COMM_WORLD;
    pub(crate) fn comm_self() -> MPI_Comm = DISTARR_MPI_COMM_SELF;
    pub(crate) fn comm_null() -> MPI_Comm = DISTARR_MPI_COMM_NULL;
    pub(crate) fn group_null() -> MPI_Group = DISTARR_MPI_GROUP_NULL;
    pub(crate) fn info_null() -> MPI_Info = DISTARR_MPI_INFO_NULL;
    pub(crate) fn win_null() -> MPI_Win = DISTARR_MPI_WIN_NULL;
    pub(crate) fn request_null() -> MPI_Request = DISTARR_MPI_REQUEST_NULL;
    pub(crate) fn errors_return() -> MPI_Errhandler = DISTARR_MPI_ERRORS_RETURN;
    pub(crate) fn datatype_null() -> MPI_Datatype = DISTARR_MPI_DATATYPE_NULL;
    fn flavor_code() -> i32 = DISTARR_MPI_FLAVOR;
}

/// Which MPI implementation distarr was compiled against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Open MPI (`OPEN_MPI` defined by `mpi.h`).
    OpenMpi,
    /// MPICH or a derivative (`MPICH` defined by `mpi.h`).
    Mpich,
    /// Any other implementation.
    Other,
}

pub(crate) fn compiled_flavor() -> Flavor {
    match flavor_code() {
        1 => Flavor::OpenMpi,
        2 => Flavor::Mpich,
        _ => Flavor::Other,
    }
}

/// A predefined reduction / accumulate operation (`MPI_Op`); never freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `MPI_SUM`
    Sum,
    /// `MPI_PROD`
    Prod,
    /// `MPI_MIN`
    Min,
    /// `MPI_MAX`
    Max,
    /// `MPI_BAND`
    Band,
    /// `MPI_BOR`
    Bor,
    /// `MPI_BXOR`
    Bxor,
    /// `MPI_LAND`
    Land,
    /// `MPI_LOR`
    Lor,
    /// `MPI_REPLACE` (accumulate / fetch-and-op only)
    Replace,
    /// `MPI_NO_OP` (get-accumulate / fetch-and-op only: an atomic read)
    NoOp,
}

impl Op {
    pub(crate) fn raw(self) -> MPI_Op {
        // SAFETY: (for each read below)
        // - each symbol is a `const MPI_Op` defined in shim.c, initialised at load time and
        //   never written afterwards, so reading it cannot race.
        unsafe {
            match self {
                Op::Sum => DISTARR_MPI_SUM,
                Op::Prod => DISTARR_MPI_PROD,
                Op::Min => DISTARR_MPI_MIN,
                Op::Max => DISTARR_MPI_MAX,
                Op::Band => DISTARR_MPI_BAND,
                Op::Bor => DISTARR_MPI_BOR,
                Op::Bxor => DISTARR_MPI_BXOR,
                Op::Land => DISTARR_MPI_LAND,
                Op::Lor => DISTARR_MPI_LOR,
                Op::Replace => DISTARR_MPI_REPLACE,
                Op::NoOp => DISTARR_MPI_NO_OP,
            }
        }
    }
}
