! pi_arrays.f90 - Monte Carlo pi with distarr's distributed arrays from Fortran (the distarr_f
! module): x, y uniform in [0,1), inside = x*x + y*y < 1, pi ~ 4 * sum(inside) / n. Every
! rank runs the program (SPMD); all array calls are collective.
!
! Build:  mpif90 c-api/fortran/distarr_f.f90 pi_arrays.f90 -o pi_arrays -L<libdir> -ldistarr
! Check:  DISTARR_CHECK=1: rank 0 gathers the darts, recounts them with a loop (must match
!         exactly) and checks |pi - 3.14159...| < 0.02; every rank prints "distarr-test: ok rank=R".
program pi_arrays
    use, intrinsic :: iso_c_binding
    use distarr_f
    implicit none

    integer(c_int64_t), parameter :: n = 100000
    integer(c_int64_t) :: shape(1), x, y, t, yy, inside
    integer(c_int64_t), target :: count
    integer(c_int32_t) :: me, np
    real(c_double), target :: one
    real(c_double), allocatable, target :: gx(:), gy(:)
    real(c_double) :: pi_est
    integer(c_int64_t) :: i, recount
    character(len=8) :: check_env
    logical :: check_mode

    call get_environment_variable("DISTARR_CHECK", check_env)
    check_mode = check_env == "1"
    call ok(distarr_init(c_null_ptr, c_null_ptr), "init")
    call ok(distarr_rank(me), "rank")
    call ok(distarr_nranks(np), "nranks")

    shape(1) = n
    call ok(distarr_create(1, shape, DISTARR_DTYPE_F64, c_null_ptr, x), "create x")
    call ok(distarr_create(1, shape, DISTARR_DTYPE_F64, c_null_ptr, y), "create y")
    call ok(distarr_create(1, shape, DISTARR_DTYPE_F64, c_null_ptr, t), "create t")
    call ok(distarr_create(1, shape, DISTARR_DTYPE_F64, c_null_ptr, yy), "create yy")
    call ok(distarr_create(1, shape, DISTARR_DTYPE_BOOL, c_null_ptr, inside), "create inside")
    call ok(distarr_random(x, 11_c_int64_t), "random x")
    call ok(distarr_random(y, 12_c_int64_t), "random y")
    call ok(distarr_binary(DISTARR_UFUNC_MULTIPLY, t, x, x), "x*x")
    call ok(distarr_binary(DISTARR_UFUNC_MULTIPLY, yy, y, y), "y*y")
    call ok(distarr_binary(DISTARR_UFUNC_ADD, t, t, yy), "add")
    one = 1.0_c_double
    call ok(distarr_binary_scalar(DISTARR_UFUNC_LESS, inside, t, c_loc(one), DISTARR_DTYPE_F64, 0), "less")
    call ok(distarr_reduce(DISTARR_REDUCE_SUM, inside, -1, 0_c_int64_t, c_loc(count)), "sum")
    pi_est = 4.0_c_double * real(count, c_double) / real(n, c_double)
    if (me == 0) print '(a, f9.6, a, i0, a)', "pi ~ ", pi_est, " on ", np, " ranks"

    if (check_mode) then
        allocate(gx(n), gy(n))
        call ok(distarr_gather(x, 0, c_loc(gx)), "gather x")
        call ok(distarr_gather(y, 0, c_loc(gy)), "gather y")
        if (me == 0) then
            recount = 0
            do i = 1, n
                if (gx(i) * gx(i) + gy(i) * gy(i) < 1.0_c_double) recount = recount + 1
            end do
            if (recount /= count .or. abs(pi_est - 3.14159265358979_c_double) > 0.02_c_double) then
                print '(a, i0, a, i0)', "pi_arrays: check failed: ", count, " vs ", recount
                error stop 1
            end if
        end if
    end if
    call ok(distarr_free(inside), "free")
    call ok(distarr_free(yy), "free")
    call ok(distarr_free(t), "free")
    call ok(distarr_free(y), "free")
    call ok(distarr_free(x), "free")
    call ok(distarr_finalize(), "finalize")
    if (check_mode) print '(a, i0)', "distarr-test: ok rank=", me

contains

    subroutine ok(rc, what)
        integer(c_int), intent(in) :: rc
        character(len=*), intent(in) :: what
        call distarr_check(rc, "pi_arrays", what)
    end subroutine
end program pi_arrays
