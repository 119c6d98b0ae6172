! nbody_arrays.f90 - the all-pairs N-body simulation of examples/c/nbody.c from Fortran:
!     dx = x[None, :, :] - x[:, None, :]       ! (n, n, 3): dx[i, j] = x[j] - x[i]
!     r2 = (dx * dx).sum(axis=2) + EPS**2      ! (n, n)
!     w  = m[None, :] * r2 ** -1.5
!     a  = (dx * w[:, :, None]).sum(axis=1)    ! (n, 3)
!     v += a * DT;  x += v * DT
! in distarr's C-order axes: an (n, 3) array is a Fortran buffer x(3, n). The new axes are views
! (distarr_index with DISTARR_INDEX_NEWAXIS); the temporaries of a step are created without
! storage (DISTARR_LAYOUT_DEFERRED) and freed at its end, so the deferred, fused steps never
! allocate them. Every rank runs the program (SPMD); all array calls are collective.
!
! Build:  mpif90 c-api/fortran/distarr_f.f90 nbody_arrays.f90 -o nbody_arrays -L<libdir> -ldistarr
! Check:  DISTARR_CHECK=1: rank 0 repeats the simulation with plain loops (positions and
!         velocities agree to 1e-12, relative) and the total momentum (zero at the start) stays
!         below 1e-12; every rank prints "distarr-test: ok rank=R".
program nbody_arrays
    use, intrinsic :: iso_c_binding
    use distarr_f
    implicit none

    integer(c_int64_t), parameter :: n = 64, steps = 5
    real(c_double), parameter :: dt = 1.0e-3_c_double, eps = 1.0e-2_c_double
    integer(c_int64_t) :: n3(2), n1(1), x, v, m, step, i, j
    integer(c_int32_t) :: me, np
    real(c_double), allocatable, target :: x0(:, :), m0(:), xs(:, :), vs(:, :), vr(:, :), acc(:, :)
    real(c_double), target :: p(3)
    real(c_double) :: d(3), r2, w, ex, ev
    character(len=8) :: check_env
    logical :: check_mode, good

    call get_environment_variable("DISTARR_CHECK", check_env)
    check_mode = check_env == "1"
    call ok(distarr_init(c_null_ptr, c_null_ptr), "init")
    call ok(distarr_rank(me), "rank")
    call ok(distarr_nranks(np), "nranks")

    ! bodies in the unit cube at rest, masses in [0.5, 1.5) / n
    n3 = [n, 3_c_int64_t]
    n1(1) = n
    call ok(distarr_create(2, n3, DISTARR_DTYPE_F64, c_null_ptr, x), "create x")
    call ok(distarr_create(2, n3, DISTARR_DTYPE_F64, c_null_ptr, v), "create v")
    call ok(distarr_create(1, n1, DISTARR_DTYPE_F64, c_null_ptr, m), "create m")
    call ok(distarr_random(x, 1_c_int64_t), "random x")
    call ok(distarr_random(m, 2_c_int64_t), "random m")
    call scalar_op(DISTARR_UFUNC_ADD, m, m, 0.5_c_double)
    call scalar_op(DISTARR_UFUNC_DIVIDE, m, m, real(n, c_double))
    allocate(x0(3, n), m0(n), xs(3, n), vs(3, n))
    call ok(distarr_gather(x, 0, c_loc(x0)), "gather x")
    call ok(distarr_gather(m, 0, c_loc(m0)), "gather m")

    do step = 1, steps
        call advance()
    end do
    call ok(momentum(p), "momentum")
    call ok(distarr_gather(x, 0, c_loc(xs)), "gather x")
    call ok(distarr_gather(v, 0, c_loc(vs)), "gather v")
    if (me == 0) print '(a, i0, a, i0, a, i0, a, es9.2)', "nbody: ", n, " bodies, ", steps, " steps on ", np, &
        " ranks; |total momentum| ", norm2(p)

    good = .true.
    if (check_mode .and. me == 0) then
        allocate(vr(3, n), acc(3, n))
        vr = 0
        do step = 1, steps
            acc = 0
            do i = 1, n
                do j = 1, n
                    d = x0(:, j) - x0(:, i)
                    r2 = d(1) * d(1) + d(2) * d(2) + d(3) * d(3) + eps * eps
                    w = m0(j) * r2 ** (-1.5_c_double)
                    acc(:, i) = acc(:, i) + d * w
                end do
            end do
            vr = vr + acc * dt
            x0 = x0 + vr * dt
        end do
        ex = maxval(abs(xs - x0) / (1 + abs(x0)))
        ev = maxval(abs(vs - vr) / (1 + abs(vr)))
        print '(a, es8.1, a, es8.1)', "nbody: max relative difference to plain loops: positions ", ex, &
            ", velocities ", ev
        good = ex < 1.0e-12_c_double .and. ev < 1.0e-12_c_double .and. norm2(p) < 1.0e-12_c_double
    end if
    call ok(distarr_free(m), "free")
    call ok(distarr_free(v), "free")
    call ok(distarr_free(x), "free")
    call ok(distarr_finalize(), "finalize")
    if (.not. good) then
        print '(a)', "nbody: check failed"
        error stop 1
    end if
    if (check_mode) print '(a, i0)', "distarr-test: ok rank=", me

contains

    subroutine ok(rc, what)
        integer(c_int), intent(in) :: rc
        character(len=*), intent(in) :: what
        call distarr_check(rc, "nbody", what)
    end subroutine

    ! A float64 array of `shape` whose storage the first call writing it allocates.
    integer(c_int64_t) function temporary(shape) result(t)
        integer(c_int64_t), intent(in) :: shape(:)
        call ok(distarr_create_layout(size(shape, kind=c_int32_t), shape, DISTARR_DTYPE_F64, &
                                      DISTARR_LAYOUT_BLOCK + DISTARR_LAYOUT_DEFERRED, c_null_ptr, 0, t), "temporary")
    end function

    ! a[kind(1), kind(2), ...] with full slices and new axes only: a view.
    integer(c_int64_t) function index_view(a, kind) result(view)
        integer(c_int64_t), intent(in) :: a
        integer(c_int32_t), intent(in) :: kind(:)
        call ok(distarr_index(a, size(kind, kind=c_int32_t), kind, c_null_ptr, c_null_ptr, c_null_ptr, view), "index")
    end function

    subroutine scalar_op(op, out, a, s)
        integer(c_int), intent(in) :: op
        integer(c_int64_t), intent(in) :: out, a
        real(c_double), intent(in) :: s
        real(c_double), target :: value
        value = s
        call ok(distarr_binary_scalar(op, out, a, c_loc(value), DISTARR_DTYPE_F64, 0), "scalar operation")
    end subroutine

    ! One symplectic Euler step, updating x and v in place. Collective.
    subroutine advance()
        integer(c_int32_t), parameter :: all = DISTARR_INDEX_RANGE, new = DISTARR_INDEX_NEWAXIS
        integer(c_int64_t) :: xj, xi, dx, dx2, r2a, inv_r3, wa, mj, w3, f, a, a_dt, v_dt, k, done(13)
        xj = index_view(x, [new, all, all])
        xi = index_view(x, [all, new, all])
        dx = temporary([n, n, 3_c_int64_t])
        dx2 = temporary([n, n, 3_c_int64_t])
        r2a = temporary([n, n])
        call ok(distarr_binary(DISTARR_UFUNC_SUBTRACT, dx, xj, xi), "dx")
        call ok(distarr_binary(DISTARR_UFUNC_MULTIPLY, dx2, dx, dx), "dx * dx")
        call ok(distarr_reduce(DISTARR_REDUCE_SUM, dx2, 2, r2a, c_null_ptr), "r2")
        call scalar_op(DISTARR_UFUNC_ADD, r2a, r2a, eps * eps)
        inv_r3 = temporary([n, n])
        wa = temporary([n, n])
        mj = index_view(m, [new, all])
        call scalar_op(DISTARR_UFUNC_POWER, inv_r3, r2a, -1.5_c_double)
        call ok(distarr_binary(DISTARR_UFUNC_MULTIPLY, wa, mj, inv_r3), "w")
        w3 = index_view(wa, [all, all, new])
        f = temporary([n, n, 3_c_int64_t])
        a = temporary([n, 3_c_int64_t])
        call ok(distarr_binary(DISTARR_UFUNC_MULTIPLY, f, dx, w3), "dx * w")
        call ok(distarr_reduce(DISTARR_REDUCE_SUM, f, 1, a, c_null_ptr), "a")
        a_dt = temporary([n, 3_c_int64_t])
        v_dt = temporary([n, 3_c_int64_t])
        call scalar_op(DISTARR_UFUNC_MULTIPLY, a_dt, a, dt)
        call ok(distarr_binary(DISTARR_UFUNC_ADD, v, v, a_dt), "v += a dt")
        call scalar_op(DISTARR_UFUNC_MULTIPLY, v_dt, v, dt)
        call ok(distarr_binary(DISTARR_UFUNC_ADD, x, x, v_dt), "x += v dt")
        done = [xj, xi, dx, dx2, r2a, inv_r3, wa, mj, w3, f, a, a_dt, v_dt]
        do k = 1, size(done)
            call ok(distarr_free(done(k)), "free")
        end do
    end subroutine

    ! The total momentum sum(m[:, None] * v, axis=0) into p on rank 0 (zeros elsewhere). Collective.
    integer(c_int) function momentum(p) result(rc)
        real(c_double), target, intent(out) :: p(3)
        integer(c_int64_t) :: mi, mv, pa
        mi = index_view(m, [DISTARR_INDEX_RANGE, DISTARR_INDEX_NEWAXIS])
        mv = temporary([n, 3_c_int64_t])
        pa = temporary([3_c_int64_t])
        call ok(distarr_binary(DISTARR_UFUNC_MULTIPLY, mv, mi, v), "m v")
        call ok(distarr_reduce(DISTARR_REDUCE_SUM, mv, 0, pa, c_null_ptr), "sum")
        p = 0
        rc = distarr_gather(pa, 0, c_loc(p))
        call ok(distarr_free(pa), "free")
        call ok(distarr_free(mv), "free")
        call ok(distarr_free(mi), "free")
    end function
end program nbody_arrays
