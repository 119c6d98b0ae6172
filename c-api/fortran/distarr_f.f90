! distarr_f: Fortran bindings of libdistarr (c-api/include/distarr.h) through bind(C).
!
! Every function returns integer(c_int) status: DISTARR_OK (0) or a DISTARR_ERR_* code;
! distarr_message(code) gives the description and the calling thread's last error message.
! Handles (distarr_request, distarr_array) are integer(c_int64_t); segment ids are
! integer(c_int32_t) (uint32_t in C: pass them through unchanged); C's uint64_t byte counts
! and offsets are integer(c_int64_t). Buffers are type(c_ptr): pass c_loc(x) of a variable with
! the TARGET attribute. Output arguments are written only on success.
!
! Initialise with distarr_init(c_null_ptr, c_null_ptr) (distarr initialises MPI), or, after
! MPI_Init, with distarr_init_fortran(int(MPI_COMM_WORLD, c_int64_t)) (the program finalises
! MPI after distarr_finalize). Collective vs one-sided semantics: see distarr.h.
!
! The constants below must equal the header's; c-api/tests/header.rs checks that they do.
module distarr_f
    use, intrinsic :: iso_c_binding
    implicit none

    ! --- status codes
    integer(c_int), parameter :: DISTARR_OK = 0
    integer(c_int), parameter :: DISTARR_ERR_ARG = 10
    integer(c_int), parameter :: DISTARR_ERR_NULL = 11
    integer(c_int), parameter :: DISTARR_ERR_DTYPE = 12
    integer(c_int), parameter :: DISTARR_ERR_OP = 13
    integer(c_int), parameter :: DISTARR_ERR_SHAPE = 14
    integer(c_int), parameter :: DISTARR_ERR_MISALIGNED = 15
    integer(c_int), parameter :: DISTARR_ERR_HANDLE = 20
    integer(c_int), parameter :: DISTARR_ERR_SEGMENT = 21
    integer(c_int), parameter :: DISTARR_ERR_BOUNDS = 30
    integer(c_int), parameter :: DISTARR_ERR_RANK = 31
    integer(c_int), parameter :: DISTARR_ERR_NOMEM = 40
    integer(c_int), parameter :: DISTARR_ERR_STATE = 50
    integer(c_int), parameter :: DISTARR_ERR_COLLECTIVE = 51
    integer(c_int), parameter :: DISTARR_ERR_UNSUPPORTED = 52
    integer(c_int), parameter :: DISTARR_ERR_MPI = 60
    integer(c_int), parameter :: DISTARR_ERR_IO = 61
    integer(c_int), parameter :: DISTARR_ERR_INTERNAL = 90
    ! --- dtype codes
    integer(c_int), parameter :: DISTARR_DTYPE_BOOL = 0
    integer(c_int), parameter :: DISTARR_DTYPE_I32 = 1
    integer(c_int), parameter :: DISTARR_DTYPE_I64 = 2
    integer(c_int), parameter :: DISTARR_DTYPE_U8 = 3
    integer(c_int), parameter :: DISTARR_DTYPE_U32 = 4
    integer(c_int), parameter :: DISTARR_DTYPE_U64 = 5
    integer(c_int), parameter :: DISTARR_DTYPE_F32 = 6
    integer(c_int), parameter :: DISTARR_DTYPE_F64 = 7
    integer(c_int), parameter :: DISTARR_DTYPE_C64 = 8
    integer(c_int), parameter :: DISTARR_DTYPE_C128 = 9
    ! --- accumulate / fetch-op / reduce operations
    integer(c_int), parameter :: DISTARR_OP_SUM = 0
    integer(c_int), parameter :: DISTARR_OP_PROD = 1
    integer(c_int), parameter :: DISTARR_OP_MIN = 2
    integer(c_int), parameter :: DISTARR_OP_MAX = 3
    integer(c_int), parameter :: DISTARR_OP_BAND = 4
    integer(c_int), parameter :: DISTARR_OP_BOR = 5
    integer(c_int), parameter :: DISTARR_OP_BXOR = 6
    integer(c_int), parameter :: DISTARR_OP_REPLACE = 7
    integer(c_int), parameter :: DISTARR_OP_NO_OP = 8
    ! --- execution modes
    integer(c_int), parameter :: DISTARR_MODE_ENV = 0
    integer(c_int), parameter :: DISTARR_MODE_SPMD = 1
    integer(c_int), parameter :: DISTARR_MODE_SEQUENTIAL = 2
    ! --- ufunc codes (array functions)
    integer(c_int), parameter :: DISTARR_UFUNC_ADD = 0
    integer(c_int), parameter :: DISTARR_UFUNC_SUBTRACT = 1
    integer(c_int), parameter :: DISTARR_UFUNC_MULTIPLY = 2
    integer(c_int), parameter :: DISTARR_UFUNC_DIVIDE = 3
    integer(c_int), parameter :: DISTARR_UFUNC_FLOOR_DIVIDE = 4
    integer(c_int), parameter :: DISTARR_UFUNC_REMAINDER = 5
    integer(c_int), parameter :: DISTARR_UFUNC_POWER = 6
    integer(c_int), parameter :: DISTARR_UFUNC_MAXIMUM = 7
    integer(c_int), parameter :: DISTARR_UFUNC_MINIMUM = 8
    integer(c_int), parameter :: DISTARR_UFUNC_EQUAL = 9
    integer(c_int), parameter :: DISTARR_UFUNC_NOT_EQUAL = 10
    integer(c_int), parameter :: DISTARR_UFUNC_LESS = 11
    integer(c_int), parameter :: DISTARR_UFUNC_LESS_EQUAL = 12
    integer(c_int), parameter :: DISTARR_UFUNC_GREATER = 13
    integer(c_int), parameter :: DISTARR_UFUNC_GREATER_EQUAL = 14
    integer(c_int), parameter :: DISTARR_UFUNC_LOGICAL_AND = 15
    integer(c_int), parameter :: DISTARR_UFUNC_LOGICAL_OR = 16
    integer(c_int), parameter :: DISTARR_UFUNC_LOGICAL_XOR = 17
    integer(c_int), parameter :: DISTARR_UFUNC_BITWISE_AND = 18
    integer(c_int), parameter :: DISTARR_UFUNC_BITWISE_OR = 19
    integer(c_int), parameter :: DISTARR_UFUNC_BITWISE_XOR = 20
    integer(c_int), parameter :: DISTARR_UFUNC_ARCTAN2 = 21
    integer(c_int), parameter :: DISTARR_UFUNC_HYPOT = 22
    integer(c_int), parameter :: DISTARR_UFUNC_NEGATIVE = 64
    integer(c_int), parameter :: DISTARR_UFUNC_ABSOLUTE = 65
    integer(c_int), parameter :: DISTARR_UFUNC_SQRT = 66
    integer(c_int), parameter :: DISTARR_UFUNC_EXP = 67
    integer(c_int), parameter :: DISTARR_UFUNC_LOG = 68
    integer(c_int), parameter :: DISTARR_UFUNC_SIN = 69
    integer(c_int), parameter :: DISTARR_UFUNC_COS = 70
    integer(c_int), parameter :: DISTARR_UFUNC_TAN = 71
    integer(c_int), parameter :: DISTARR_UFUNC_FLOOR = 72
    integer(c_int), parameter :: DISTARR_UFUNC_CEIL = 73
    integer(c_int), parameter :: DISTARR_UFUNC_LOGICAL_NOT = 74
    integer(c_int), parameter :: DISTARR_UFUNC_INVERT = 75
    integer(c_int), parameter :: DISTARR_UFUNC_SQUARE = 76
    integer(c_int), parameter :: DISTARR_UFUNC_SIGN = 77
    integer(c_int), parameter :: DISTARR_UFUNC_LOG10 = 78
    integer(c_int), parameter :: DISTARR_UFUNC_LOG2 = 79
    integer(c_int), parameter :: DISTARR_UFUNC_TANH = 80
    integer(c_int), parameter :: DISTARR_UFUNC_ARCSIN = 81
    integer(c_int), parameter :: DISTARR_UFUNC_ARCCOS = 82
    integer(c_int), parameter :: DISTARR_UFUNC_ARCTAN = 83
    integer(c_int), parameter :: DISTARR_UFUNC_ISNAN = 84
    integer(c_int), parameter :: DISTARR_UFUNC_ISINF = 85
    integer(c_int), parameter :: DISTARR_UFUNC_ISFINITE = 86
    integer(c_int), parameter :: DISTARR_UFUNC_RECIPROCAL = 87
    integer(c_int), parameter :: DISTARR_UFUNC_POSITIVE = 88
    integer(c_int), parameter :: DISTARR_UFUNC_EXPM1 = 89
    integer(c_int), parameter :: DISTARR_UFUNC_LOG1P = 90
    integer(c_int), parameter :: DISTARR_UFUNC_SINH = 91
    integer(c_int), parameter :: DISTARR_UFUNC_COSH = 92
    integer(c_int), parameter :: DISTARR_UFUNC_TRUNC = 93
    integer(c_int), parameter :: DISTARR_UFUNC_RINT = 94
    ! --- reductions (distarr_reduce)
    integer(c_int), parameter :: DISTARR_REDUCE_SUM = 0
    integer(c_int), parameter :: DISTARR_REDUCE_PROD = 1
    integer(c_int), parameter :: DISTARR_REDUCE_MIN = 2
    integer(c_int), parameter :: DISTARR_REDUCE_MAX = 3
    integer(c_int), parameter :: DISTARR_REDUCE_MEAN = 16
    integer(c_int), parameter :: DISTARR_REDUCE_ARGMIN = 17
    integer(c_int), parameter :: DISTARR_REDUCE_ARGMAX = 18
    integer(c_int), parameter :: DISTARR_REDUCE_ANY = 19
    integer(c_int), parameter :: DISTARR_REDUCE_ALL = 20
    ! --- array layouts (distarr_create_layout)
    integer(c_int), parameter :: DISTARR_LAYOUT_BLOCK = 0
    integer(c_int), parameter :: DISTARR_LAYOUT_BLOCK_CYCLIC = 1
    integer(c_int), parameter :: DISTARR_LAYOUT_REPLICATED = 2
    integer(c_int), parameter :: DISTARR_LAYOUT_ON_RANK = 3
    integer(c_int), parameter :: DISTARR_LAYOUT_DEFERRED = 256
    ! --- an omitted slice bound of distarr_view and distarr_index (C's INT64_MIN)
    integer(c_int64_t), parameter :: DISTARR_SLICE_NONE = -huge(0_c_int64_t) - 1_c_int64_t
    ! --- index item kinds (distarr_index)
    integer(c_int), parameter :: DISTARR_INDEX_RANGE = 0
    integer(c_int), parameter :: DISTARR_INDEX_INT = 1
    integer(c_int), parameter :: DISTARR_INDEX_NEWAXIS = 2
    integer(c_int), parameter :: DISTARR_INDEX_ELLIPSIS = 3
    ! --- "no axis" (distarr_roll, distarr_concatenate, distarr_reduce; C's INT32_MIN)
    integer(c_int), parameter :: DISTARR_AXIS_NONE = -huge(0_c_int) - 1_c_int

    interface
        ! --- life cycle
        integer(c_int) function distarr_init(argc, argv) bind(C, name="distarr_init")
            import :: c_int, c_ptr
            type(c_ptr), value :: argc, argv
        end function
        integer(c_int) function distarr_init_mode(argc, argv, mode) bind(C, name="distarr_init_mode")
            import :: c_int, c_int32_t, c_ptr
            type(c_ptr), value :: argc, argv
            integer(c_int32_t), value :: mode
        end function
        integer(c_int) function distarr_init_fortran(comm) bind(C, name="distarr_init_fortran")
            import :: c_int, c_int64_t
            integer(c_int64_t), value :: comm
        end function
        integer(c_int) function distarr_finalize() bind(C, name="distarr_finalize")
            import :: c_int
        end function
        integer(c_int) function distarr_initialized(flag) bind(C, name="distarr_initialized")
            import :: c_int, c_int32_t
            integer(c_int32_t), intent(out) :: flag
        end function
        integer(c_int) function distarr_mode(mode) bind(C, name="distarr_mode")
            import :: c_int, c_int32_t
            integer(c_int32_t), intent(out) :: mode
        end function
        integer(c_int) function distarr_rank(rank) bind(C, name="distarr_rank")
            import :: c_int, c_int32_t
            integer(c_int32_t), intent(out) :: rank
        end function
        integer(c_int) function distarr_nranks(nranks) bind(C, name="distarr_nranks")
            import :: c_int, c_int32_t
            integer(c_int32_t), intent(out) :: nranks
        end function
        integer(c_int) function distarr_is_root(is_root) bind(C, name="distarr_is_root")
            import :: c_int, c_int32_t
            integer(c_int32_t), intent(out) :: is_root
        end function
        integer(c_int) function distarr_abort(code) bind(C, name="distarr_abort")
            import :: c_int
            integer(c_int), value :: code
        end function
        integer(c_int) function distarr_seq_stats(messages, commands) bind(C, name="distarr_seq_stats")
            import :: c_int, c_int64_t
            integer(c_int64_t), intent(out) :: messages, commands
        end function

        ! --- global memory
        integer(c_int) function distarr_gmem_alloc(bytes_per_rank, seg) bind(C, name="distarr_gmem_alloc")
            import :: c_int, c_int32_t, c_int64_t
            integer(c_int64_t), value :: bytes_per_rank
            integer(c_int32_t), intent(out) :: seg
        end function
        integer(c_int) function distarr_gmem_free(seg) bind(C, name="distarr_gmem_free")
            import :: c_int, c_int32_t
            integer(c_int32_t), value :: seg
        end function
        integer(c_int) function distarr_gmem_local(seg, base, bytes) bind(C, name="distarr_gmem_local")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            integer(c_int32_t), value :: seg
            type(c_ptr), intent(out) :: base
            integer(c_int64_t), intent(out) :: bytes
        end function

        ! --- one-sided operations
        integer(c_int) function distarr_get(dst, rank, seg, offset, bytes) bind(C, name="distarr_get")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            type(c_ptr), value :: dst
            integer(c_int32_t), value :: rank, seg
            integer(c_int64_t), value :: offset, bytes
        end function
        integer(c_int) function distarr_put(rank, seg, offset, src, bytes) bind(C, name="distarr_put")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            integer(c_int32_t), value :: rank, seg
            integer(c_int64_t), value :: offset
            type(c_ptr), value :: src
            integer(c_int64_t), value :: bytes
        end function
        integer(c_int) function distarr_get_nb(dst, rank, seg, offset, bytes, req) bind(C, name="distarr_get_nb")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            type(c_ptr), value :: dst
            integer(c_int32_t), value :: rank, seg
            integer(c_int64_t), value :: offset, bytes
            integer(c_int64_t), intent(out) :: req
        end function
        integer(c_int) function distarr_put_nb(rank, seg, offset, src, bytes, req) bind(C, name="distarr_put_nb")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            integer(c_int32_t), value :: rank, seg
            integer(c_int64_t), value :: offset
            type(c_ptr), value :: src
            integer(c_int64_t), value :: bytes
            integer(c_int64_t), intent(out) :: req
        end function
        integer(c_int) function distarr_wait(req) bind(C, name="distarr_wait")
            import :: c_int, c_int64_t
            integer(c_int64_t), intent(inout) :: req
        end function
        integer(c_int) function distarr_test(req, done) bind(C, name="distarr_test")
            import :: c_int, c_int32_t, c_int64_t
            integer(c_int64_t), intent(inout) :: req
            integer(c_int32_t), intent(out) :: done
        end function
        integer(c_int) function distarr_acc(rank, seg, offset, src, count, dtype, op) bind(C, name="distarr_acc")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            integer(c_int32_t), value :: rank, seg
            integer(c_int64_t), value :: offset
            type(c_ptr), value :: src
            integer(c_int64_t), value :: count
            integer(c_int32_t), value :: dtype, op
        end function
        integer(c_int) function distarr_fetch_op(result, operand, rank, seg, offset, dtype, op) &
                bind(C, name="distarr_fetch_op")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            type(c_ptr), value :: result, operand
            integer(c_int32_t), value :: rank, seg
            integer(c_int64_t), value :: offset
            integer(c_int32_t), value :: dtype, op
        end function
        integer(c_int) function distarr_cas(result, compare, swap, rank, seg, offset, dtype) &
                bind(C, name="distarr_cas")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            type(c_ptr), value :: result, compare, swap
            integer(c_int32_t), value :: rank, seg
            integer(c_int64_t), value :: offset
            integer(c_int32_t), value :: dtype
        end function

        ! --- completion, epochs, collectives
        integer(c_int) function distarr_flush(rank) bind(C, name="distarr_flush")
            import :: c_int, c_int32_t
            integer(c_int32_t), value :: rank
        end function
        integer(c_int) function distarr_flush_all() bind(C, name="distarr_flush_all")
            import :: c_int
        end function
        integer(c_int) function distarr_flush_local(rank) bind(C, name="distarr_flush_local")
            import :: c_int, c_int32_t
            integer(c_int32_t), value :: rank
        end function
        integer(c_int) function distarr_flush_local_all() bind(C, name="distarr_flush_local_all")
            import :: c_int
        end function
        ! implicit completion: the buffer belongs to distarr until a flush (see distarr.h)
        integer(c_int) function distarr_get_nbi(dst, rank, seg, offset, bytes) bind(C, name="distarr_get_nbi")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            type(c_ptr), value :: dst
            integer(c_int32_t), value :: rank, seg
            integer(c_int64_t), value :: offset, bytes
        end function
        integer(c_int) function distarr_put_nbi(rank, seg, offset, src, bytes) bind(C, name="distarr_put_nbi")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            integer(c_int32_t), value :: rank, seg
            integer(c_int64_t), value :: offset
            type(c_ptr), value :: src
            integer(c_int64_t), value :: bytes
        end function
        integer(c_int) function distarr_fence() bind(C, name="distarr_fence")
            import :: c_int
        end function
        integer(c_int) function distarr_barrier() bind(C, name="distarr_barrier")
            import :: c_int
        end function
        integer(c_int) function distarr_sync() bind(C, name="distarr_sync")
            import :: c_int
        end function
        integer(c_int) function distarr_bcast(buf, bytes, root) bind(C, name="distarr_bcast")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            type(c_ptr), value :: buf
            integer(c_int64_t), value :: bytes
            integer(c_int32_t), value :: root
        end function
        integer(c_int) function distarr_allreduce(buf, count, dtype, op) bind(C, name="distarr_allreduce")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            type(c_ptr), value :: buf
            integer(c_int64_t), value :: count
            integer(c_int32_t), value :: dtype, op
        end function

        ! --- arrays (distarr_array handles are integer(c_int64_t)). Shapes, boxes and indices
        ! are C order (the last dimension varies fastest) and 0-based: a Fortran array a(n1, n2)
        ! matches a distarr array of shape [n2, n1]. Paths end with c_null_char.
        integer(c_int) function distarr_create(ndim, shape, dtype, block, out) bind(C, name="distarr_create")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            integer(c_int32_t), value :: ndim
            integer(c_int64_t), intent(in) :: shape(*)
            integer(c_int32_t), value :: dtype
            type(c_ptr), value :: block
            integer(c_int64_t), intent(out) :: out
        end function
        integer(c_int) function distarr_create_layout(ndim, shape, dtype, layout, block, rank, out) &
                bind(C, name="distarr_create_layout")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            integer(c_int32_t), value :: ndim
            integer(c_int64_t), intent(in) :: shape(*)
            integer(c_int32_t), value :: dtype, layout
            type(c_ptr), value :: block
            integer(c_int32_t), value :: rank
            integer(c_int64_t), intent(out) :: out
        end function
        integer(c_int) function distarr_arange(start, stop, step, dtype, out) bind(C, name="distarr_arange")
            import :: c_int, c_int32_t, c_int64_t, c_double
            real(c_double), value :: start, stop, step
            integer(c_int32_t), value :: dtype
            integer(c_int64_t), intent(out) :: out
        end function
        integer(c_int) function distarr_linspace(start, stop, num, endpoint, dtype, out) bind(C, name="distarr_linspace")
            import :: c_int, c_int32_t, c_int64_t, c_double
            real(c_double), value :: start, stop
            integer(c_int64_t), value :: num
            integer(c_int32_t), value :: endpoint, dtype
            integer(c_int64_t), intent(out) :: out
        end function
        integer(c_int) function distarr_eye(n, m, k, dtype, out) bind(C, name="distarr_eye")
            import :: c_int, c_int32_t, c_int64_t
            integer(c_int64_t), value :: n, m, k
            integer(c_int32_t), value :: dtype
            integer(c_int64_t), intent(out) :: out
        end function
        integer(c_int) function distarr_astype(a, dtype, out) bind(C, name="distarr_astype")
            import :: c_int, c_int32_t, c_int64_t
            integer(c_int64_t), value :: a
            integer(c_int32_t), value :: dtype
            integer(c_int64_t), intent(out) :: out
        end function
        integer(c_int) function distarr_free(a) bind(C, name="distarr_free")
            import :: c_int, c_int64_t
            integer(c_int64_t), value :: a
        end function
        integer(c_int) function distarr_ndim(a, ndim) bind(C, name="distarr_ndim")
            import :: c_int, c_int32_t, c_int64_t
            integer(c_int64_t), value :: a
            integer(c_int32_t), intent(out) :: ndim
        end function
        integer(c_int) function distarr_shape(a, shape) bind(C, name="distarr_shape")
            import :: c_int, c_int64_t
            integer(c_int64_t), value :: a
            integer(c_int64_t), intent(out) :: shape(*)
        end function
        integer(c_int) function distarr_size(a, size) bind(C, name="distarr_size")
            import :: c_int, c_int64_t
            integer(c_int64_t), value :: a
            integer(c_int64_t), intent(out) :: size
        end function
        integer(c_int) function distarr_dtype(a, dtype) bind(C, name="distarr_dtype")
            import :: c_int, c_int32_t, c_int64_t
            integer(c_int64_t), value :: a
            integer(c_int32_t), intent(out) :: dtype
        end function
        integer(c_int) function distarr_segment(a, seg) bind(C, name="distarr_segment")
            import :: c_int, c_int32_t, c_int64_t
            integer(c_int64_t), value :: a
            integer(c_int32_t), intent(out) :: seg
        end function
        integer(c_int) function distarr_flush_deferred() bind(C, name="distarr_flush_deferred")
            import :: c_int
        end function
        integer(c_int) function distarr_set_lazy(on) bind(C, name="distarr_set_lazy")
            import :: c_int, c_int32_t
            integer(c_int32_t), value :: on
        end function
        integer(c_int) function distarr_is_lazy(on) bind(C, name="distarr_is_lazy")
            import :: c_int, c_int32_t
            integer(c_int32_t), intent(out) :: on
        end function
        integer(c_int) function distarr_fill(a, value) bind(C, name="distarr_fill")
            import :: c_int, c_int64_t, c_ptr
            integer(c_int64_t), value :: a
            type(c_ptr), value :: value
        end function
        integer(c_int) function distarr_random(a, seed) bind(C, name="distarr_random")
            import :: c_int, c_int64_t
            integer(c_int64_t), value :: a, seed
        end function
        integer(c_int) function distarr_random_normal(a, seed) bind(C, name="distarr_random_normal")
            import :: c_int, c_int64_t
            integer(c_int64_t), value :: a, seed
        end function
        integer(c_int) function distarr_copy(dst, src) bind(C, name="distarr_copy")
            import :: c_int, c_int64_t
            integer(c_int64_t), value :: dst, src
        end function
        integer(c_int) function distarr_view(a, n, start, stop, step, out) bind(C, name="distarr_view")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            integer(c_int64_t), value :: a
            integer(c_int32_t), value :: n
            type(c_ptr), value :: start, stop, step
            integer(c_int64_t), intent(out) :: out
        end function
        integer(c_int) function distarr_transpose(a, out) bind(C, name="distarr_transpose")
            import :: c_int, c_int64_t
            integer(c_int64_t), value :: a
            integer(c_int64_t), intent(out) :: out
        end function
        ! index items in C order of the axes: item 1 indexes the first dimension of the C shape
        integer(c_int) function distarr_index(a, nitems, kind, start, stop, step, out) bind(C, name="distarr_index")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            integer(c_int64_t), value :: a
            integer(c_int32_t), value :: nitems
            integer(c_int32_t), intent(in) :: kind(*)
            type(c_ptr), value :: start, stop, step
            integer(c_int64_t), intent(out) :: out
        end function
        integer(c_int) function distarr_permute(a, ndim, axes, out) bind(C, name="distarr_permute")
            import :: c_int, c_int32_t, c_int64_t
            integer(c_int64_t), value :: a
            integer(c_int32_t), value :: ndim
            integer(c_int64_t), intent(in) :: axes(*)
            integer(c_int64_t), intent(out) :: out
        end function
        integer(c_int) function distarr_reshape(a, ndim, shape, out) bind(C, name="distarr_reshape")
            import :: c_int, c_int32_t, c_int64_t
            integer(c_int64_t), value :: a
            integer(c_int32_t), value :: ndim
            integer(c_int64_t), intent(in) :: shape(*)
            integer(c_int64_t), intent(out) :: out
        end function
        integer(c_int) function distarr_broadcast_to(a, ndim, shape, out) bind(C, name="distarr_broadcast_to")
            import :: c_int, c_int32_t, c_int64_t
            integer(c_int64_t), value :: a
            integer(c_int32_t), value :: ndim
            integer(c_int64_t), intent(in) :: shape(*)
            integer(c_int64_t), intent(out) :: out
        end function
        integer(c_int) function distarr_unary(op, out, x) bind(C, name="distarr_unary")
            import :: c_int, c_int32_t, c_int64_t
            integer(c_int32_t), value :: op
            integer(c_int64_t), value :: out, x
        end function
        integer(c_int) function distarr_binary(op, out, x, y) bind(C, name="distarr_binary")
            import :: c_int, c_int32_t, c_int64_t
            integer(c_int32_t), value :: op
            integer(c_int64_t), value :: out, x, y
        end function
        integer(c_int) function distarr_binary_scalar(op, out, x, scalar, scalar_dtype, scalar_first) &
                bind(C, name="distarr_binary_scalar")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            integer(c_int32_t), value :: op
            integer(c_int64_t), value :: out, x
            type(c_ptr), value :: scalar
            integer(c_int32_t), value :: scalar_dtype, scalar_first
        end function
        integer(c_int) function distarr_where(out, cond, x, y) bind(C, name="distarr_where")
            import :: c_int, c_int64_t
            integer(c_int64_t), value :: out, cond, x, y
        end function
        integer(c_int) function distarr_where_scalar(out, cond, x, scalar, scalar_dtype, scalar_first) &
                bind(C, name="distarr_where_scalar")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            integer(c_int64_t), value :: out, cond, x
            type(c_ptr), value :: scalar
            integer(c_int32_t), value :: scalar_dtype, scalar_first
        end function
        integer(c_int) function distarr_reduce_dtype(op, dtype, result_dtype) bind(C, name="distarr_reduce_dtype")
            import :: c_int, c_int32_t
            integer(c_int32_t), value :: op, dtype
            integer(c_int32_t), intent(out) :: result_dtype
        end function
        integer(c_int) function distarr_reduce(op, x, axis, out, scalar_out) bind(C, name="distarr_reduce")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            integer(c_int32_t), value :: op
            integer(c_int64_t), value :: x
            integer(c_int32_t), value :: axis
            integer(c_int64_t), value :: out
            type(c_ptr), value :: scalar_out
        end function
        integer(c_int) function distarr_matmul(out, a, b) bind(C, name="distarr_matmul")
            import :: c_int, c_int64_t
            integer(c_int64_t), value :: out, a, b
        end function
        integer(c_int) function distarr_mask_select(a, mask, out) bind(C, name="distarr_mask_select")
            import :: c_int, c_int64_t
            integer(c_int64_t), value :: a, mask
            integer(c_int64_t), intent(out) :: out
        end function
        integer(c_int) function distarr_mask_assign(a, mask, values) bind(C, name="distarr_mask_assign")
            import :: c_int, c_int64_t
            integer(c_int64_t), value :: a, mask, values
        end function
        integer(c_int) function distarr_roll(out, a, shift, axis) bind(C, name="distarr_roll")
            import :: c_int, c_int32_t, c_int64_t
            integer(c_int64_t), value :: out, a, shift
            integer(c_int32_t), value :: axis
        end function
        integer(c_int) function distarr_concatenate(n, arrays, axis, out) bind(C, name="distarr_concatenate")
            import :: c_int, c_int32_t, c_int64_t
            integer(c_int32_t), value :: n
            integer(c_int64_t), intent(in) :: arrays(*)
            integer(c_int32_t), value :: axis
            integer(c_int64_t), intent(out) :: out
        end function
        integer(c_int) function distarr_gather(a, root, buf) bind(C, name="distarr_gather")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            integer(c_int64_t), value :: a
            integer(c_int32_t), value :: root
            type(c_ptr), value :: buf
        end function
        integer(c_int) function distarr_scatter(a, root, buf) bind(C, name="distarr_scatter")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            integer(c_int64_t), value :: a
            integer(c_int32_t), value :: root
            type(c_ptr), value :: buf
        end function
        integer(c_int) function distarr_save_npy(a, path) bind(C, name="distarr_save_npy")
            import :: c_int, c_int64_t, c_char
            integer(c_int64_t), value :: a
            character(kind=c_char), intent(in) :: path(*)
        end function
        integer(c_int) function distarr_load_npy(path, out) bind(C, name="distarr_load_npy")
            import :: c_int, c_int64_t, c_char
            character(kind=c_char), intent(in) :: path(*)
            integer(c_int64_t), intent(out) :: out
        end function
        integer(c_int) function distarr_get_region(a, lo, hi, buf) bind(C, name="distarr_get_region")
            import :: c_int, c_int64_t, c_ptr
            integer(c_int64_t), value :: a
            integer(c_int64_t), intent(in) :: lo(*), hi(*)
            type(c_ptr), value :: buf
        end function
        integer(c_int) function distarr_put_region(a, lo, hi, buf) bind(C, name="distarr_put_region")
            import :: c_int, c_int64_t, c_ptr
            integer(c_int64_t), value :: a
            integer(c_int64_t), intent(in) :: lo(*), hi(*)
            type(c_ptr), value :: buf
        end function
        integer(c_int) function distarr_acc_region(a, lo, hi, buf, op) bind(C, name="distarr_acc_region")
            import :: c_int, c_int32_t, c_int64_t, c_ptr
            integer(c_int64_t), value :: a
            integer(c_int64_t), intent(in) :: lo(*), hi(*)
            type(c_ptr), value :: buf
            integer(c_int32_t), value :: op
        end function
        integer(c_int) function distarr_locate(a, index, rank, offset) bind(C, name="distarr_locate")
            import :: c_int, c_int32_t, c_int64_t
            integer(c_int64_t), value :: a
            integer(c_int64_t), intent(in) :: index(*)
            integer(c_int32_t), intent(out) :: rank
            integer(c_int64_t), intent(out) :: offset
        end function
        integer(c_int) function distarr_local_block(a, ptr, lo, hi) bind(C, name="distarr_local_block")
            import :: c_int, c_int64_t, c_ptr
            integer(c_int64_t), value :: a
            type(c_ptr), intent(out) :: ptr
            integer(c_int64_t), intent(out) :: lo(*), hi(*)
        end function

        ! --- messages (C strings; use distarr_message for Fortran strings)
        type(c_ptr) function distarr_last_error() bind(C, name="distarr_last_error")
            import :: c_ptr
        end function
        type(c_ptr) function distarr_strerror(code) bind(C, name="distarr_strerror")
            import :: c_int, c_ptr
            integer(c_int), value :: code
        end function
    end interface

contains

    !> Copies a NUL-terminated C string into a Fortran string.
    function distarr_c_string(p) result(s)
        type(c_ptr), intent(in) :: p
        character(len=:), allocatable :: s
        character(kind=c_char), pointer :: chars(:)
        integer :: n
        interface
            integer(c_size_t) function c_strlen(str) bind(C, name="strlen")
                import :: c_size_t, c_ptr
                type(c_ptr), value :: str
            end function
        end interface
        if (.not. c_associated(p)) then
            s = ""
            return
        end if
        n = int(c_strlen(p))
        call c_f_pointer(p, chars, [n])
        allocate(character(len=n) :: s)
        s = transfer(chars(1:n), s)
    end function

    !> "<description of code>: <last error message of this thread>".
    function distarr_message(code) result(s)
        integer(c_int), intent(in) :: code
        character(len=:), allocatable :: s
        s = distarr_c_string(distarr_strerror(code)) // ": " // distarr_c_string(distarr_last_error())
    end function

    ! Stops the program (error stop 1) when rc is not DISTARR_OK, printing
    ! "<prog>: <what> failed: <message>": for programs that cannot go on after a failed call.
    subroutine distarr_check(rc, prog, what)
        integer(c_int), intent(in) :: rc
        character(len=*), intent(in) :: prog, what
        if (rc /= DISTARR_OK) then
            print '(a, a, a, a, a)', prog, ": ", what, " failed: ", distarr_message(rc)
            error stop 1
        end if
    end subroutine
end module distarr_f
