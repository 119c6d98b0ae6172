! jacobi_arrays.f90 - DistNumPy's dense Jacobi solver for A h = b from Fortran (examples/c/jacobi.c):
!     h = h + (b - sum(A * h, axis=1)) / diag(A)
! with A = 1 / (1 + |i - j|) off the diagonal and 2n on it. A * h broadcasts h along A's rows;
! the row sums are a reduction along axis 1 (distarr's axes are C-order: axis 1 runs along a
! row). Every rank runs the program (SPMD); all array calls are collective.
!
! Build:  mpif90 c-api/fortran/distarr_f.f90 jacobi_arrays.f90 -o jacobi_arrays -L<libdir> -ldistarr
! Check:  DISTARR_CHECK=1: rank 0 runs the same iteration with plain loops (agreement to 1e-12)
!         and the residual max|A h - b| (through distarr_matmul) must be below 1e-8; every rank
!         prints "distarr-test: ok rank=R".
program jacobi_arrays
    use, intrinsic :: iso_c_binding
    use distarr_f
    implicit none

    integer(c_int64_t), parameter :: n = 48, iters = 40
    integer(c_int64_t) :: nn(2), n1(1), a, ah, h, b, d, s, res, i, j, it
    integer(c_int32_t) :: me, np
    ! a0 is symmetric: its column-major storage is the C-order matrix distarr_scatter reads.
    real(c_double), allocatable, target :: a0(:, :), b0(:), got(:), hh(:), upd(:)
    real(c_double), target :: diag, resid
    real(c_double) :: total
    character(len=8) :: check_env
    logical :: check_mode, good

    call get_environment_variable("DISTARR_CHECK", check_env)
    check_mode = check_env == "1"
    call ok(distarr_init(c_null_ptr, c_null_ptr), "init")
    call ok(distarr_rank(me), "rank")
    call ok(distarr_nranks(np), "nranks")

    nn = [n, n]
    n1(1) = n
    call ok(distarr_create(2, nn, DISTARR_DTYPE_F64, c_null_ptr, a), "create A")
    call ok(distarr_create(2, nn, DISTARR_DTYPE_F64, c_null_ptr, ah), "create Ah")
    call ok(distarr_create(1, n1, DISTARR_DTYPE_F64, c_null_ptr, h), "create h") ! zero: the initial guess
    call ok(distarr_create(1, n1, DISTARR_DTYPE_F64, c_null_ptr, b), "create b")
    call ok(distarr_create(1, n1, DISTARR_DTYPE_F64, c_null_ptr, d), "create d")
    call ok(distarr_create(1, n1, DISTARR_DTYPE_F64, c_null_ptr, s), "create s")
    allocate(a0(n, n), b0(n))
    do j = 1, n
        b0(j) = real(mod(j - 1, 7_c_int64_t), c_double) - 3.0_c_double
        do i = 1, n
            if (i == j) then
                a0(i, j) = 2.0_c_double * real(n, c_double)
            else
                a0(i, j) = 1.0_c_double / (1.0_c_double + real(abs(i - j), c_double))
            end if
        end do
    end do
    call ok(distarr_scatter(a, 0, c_loc(a0)), "scatter A") ! rank 0's buffer; the others' are ignored
    call ok(distarr_scatter(b, 0, c_loc(b0)), "scatter b")
    diag = 2.0_c_double * real(n, c_double)
    call ok(distarr_fill(d, c_loc(diag)), "fill d")

    do it = 1, iters
        call ok(distarr_binary(DISTARR_UFUNC_MULTIPLY, ah, a, h), "A * h")          ! h broadcast
        call ok(distarr_reduce(DISTARR_REDUCE_SUM, ah, 1, s, c_null_ptr), "row sums") ! sum(A*h, axis=1)
        call ok(distarr_binary(DISTARR_UFUNC_SUBTRACT, s, b, s), "b - ...")
        call ok(distarr_binary(DISTARR_UFUNC_DIVIDE, s, s, d), "... / diag(A)")
        call ok(distarr_binary(DISTARR_UFUNC_ADD, h, h, s), "h + ...")
    end do
    ! the residual max|A h - b| through matmul (a flush point: the deferred iterations run here)
    call ok(distarr_create(1, n1, DISTARR_DTYPE_F64, c_null_ptr, res), "create res")
    call ok(distarr_matmul(res, a, h), "A @ h")
    call ok(distarr_binary(DISTARR_UFUNC_SUBTRACT, res, res, b), "- b")
    call ok(distarr_unary(DISTARR_UFUNC_ABSOLUTE, res, res), "abs")
    call ok(distarr_reduce(DISTARR_REDUCE_MAX, res, DISTARR_AXIS_NONE, 0_c_int64_t, c_loc(resid)), "max")
    if (me == 0) print '(a, i0, a, i0, a, i0, a, es10.3)', "jacobi: n=", n, ", ", iters, " iterations on ", np, &
        " ranks, max residual ", resid

    good = resid < 1.0e-8_c_double
    if (check_mode) then
        allocate(got(n), hh(n), upd(n))
        call ok(distarr_gather(h, 0, c_loc(got)), "gather h")
        if (me == 0) then
            hh = 0
            do it = 1, iters
                do i = 1, n
                    total = 0
                    do j = 1, n
                        total = total + a0(i, j) * hh(j)
                    end do
                    upd(i) = (b0(i) - total) / diag
                end do
                hh = hh + upd
            end do
            do i = 1, n
                if (abs(hh(i) - got(i)) > 1.0e-12_c_double * (1 + abs(hh(i)))) then
                    print '(a, i0, a, es24.17, a, es24.17)', "jacobi: check failed at ", i, ": ", got(i), " vs ", hh(i)
                    good = .false.
                    exit
                end if
            end do
        end if
    end if
    call ok(distarr_free(res), "free")
    call ok(distarr_free(s), "free")
    call ok(distarr_free(d), "free")
    call ok(distarr_free(b), "free")
    call ok(distarr_free(h), "free")
    call ok(distarr_free(ah), "free")
    call ok(distarr_free(a), "free")
    call ok(distarr_finalize(), "finalize")
    if (.not. good) then
        print '(a, es10.3)', "jacobi: check failed; residual ", resid
        error stop 1
    end if
    if (check_mode) print '(a, i0)', "distarr-test: ok rank=", me

contains

    subroutine ok(rc, what)
        integer(c_int), intent(in) :: rc
        character(len=*), intent(in) :: what
        call distarr_check(rc, "jacobi", what)
    end subroutine
end program jacobi_arrays
