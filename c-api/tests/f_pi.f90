! f_pi.f90 - Monte Carlo pi through the distarr_f module: every rank throws darts and adds its
! hits into a counter on rank 0 with distarr_fetch_op; the total is checked exactly against an
! all-reduce of the per-rank hits, and pi against 3.14159. Also exercises distarr_init_fortran
! (MPI initialised and finalised by the program), non-blocking get, accumulate, and error codes.
! Run by tests/multirank.rs at 1-4 ranks; prints "distarr-test: ok rank=R" last.
program f_pi
    use, intrinsic :: iso_c_binding
    use mpi
    use distarr_f
    implicit none

    integer, parameter :: batches = 20
    integer(c_int64_t), parameter :: per_batch = 20000
    integer :: ierr, b
    integer(c_int32_t) :: me, np, seg, mode, done
    integer(c_int64_t), target :: hits, old, batch_hits, total, throws, all_hits, req
    integer(c_int64_t), target :: counters(2)
    integer(c_int64_t) :: state, i
    real(c_double) :: x, y, pi_est

    call MPI_Init(ierr)
    call check(distarr_init_fortran(int(MPI_COMM_WORLD, c_int64_t)), DISTARR_OK, "init_fortran")
    call check(distarr_init(c_null_ptr, c_null_ptr), DISTARR_ERR_STATE, "second init")
    call check(distarr_rank(me), DISTARR_OK, "rank")
    call check(distarr_nranks(np), DISTARR_OK, "nranks")
    call check(distarr_mode(mode), DISTARR_OK, "mode")
    if (mode /= DISTARR_MODE_SPMD) call fail("expected SPMD mode")

    ! counters(1) = hits, counters(2) = throws, on rank 0 (on every rank: a symmetric segment)
    call check(distarr_gmem_alloc(16_c_int64_t, seg), DISTARR_OK, "gmem_alloc")
    counters = 0
    call check(distarr_put(me, seg, 0_c_int64_t, c_loc(counters), 16_c_int64_t), DISTARR_OK, "zero")
    call check(distarr_sync(), DISTARR_OK, "sync")

    state = 88172645463325252_c_int64_t + 7919_c_int64_t * me
    hits = 0
    do b = 1, batches
        batch_hits = 0
        do i = 1, per_batch
            x = next_uniform(state)
            y = next_uniform(state)
            if (x * x + y * y < 1.0_c_double) batch_hits = batch_hits + 1
        end do
        hits = hits + batch_hits
        call check(distarr_fetch_op(c_loc(old), c_loc(batch_hits), 0_c_int32_t, seg, 0_c_int64_t, &
                                    DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_OK, "fetch_op")
        if (old < 0) call fail("negative counter")
    end do
    throws = per_batch * batches
    call check(distarr_acc(0_c_int32_t, seg, 8_c_int64_t, c_loc(throws), 1_c_int64_t, &
                           DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_OK, "acc")
    call check(distarr_sync(), DISTARR_OK, "sync")

    ! every rank reads rank 0's counters (non-blocking), and checks them exactly
    call check(distarr_get_nb(c_loc(counters), 0_c_int32_t, seg, 0_c_int64_t, 16_c_int64_t, req), &
               DISTARR_OK, "get_nb")
    done = 0
    do while (done == 0)
        call check(distarr_test(req, done), DISTARR_OK, "test")
    end do
    if (req /= 0) call fail("completed request not reset to 0")
    all_hits = hits
    call check(distarr_allreduce(c_loc(all_hits), 1_c_int64_t, DISTARR_DTYPE_I64, DISTARR_OP_SUM), &
               DISTARR_OK, "allreduce")
    total = counters(1)
    if (total /= all_hits) call fail("fetch_op total differs from the all-reduce of hits")
    if (counters(2) /= throws * np) call fail("accumulated throws are wrong")
    pi_est = 4.0_c_double * real(total, c_double) / real(counters(2), c_double)
    if (abs(pi_est - 3.14159265358979_c_double) > 0.02_c_double) call fail("pi estimate is off")

    ! error paths come back as codes, with messages
    call check(distarr_get(c_loc(old), np, seg, 0_c_int64_t, 8_c_int64_t), DISTARR_ERR_RANK, "bad rank")
    if (index(distarr_message(DISTARR_ERR_RANK), "rank") == 0) call fail("message")
    call check(distarr_get(c_loc(old), 0_c_int32_t, seg, 12_c_int64_t, 8_c_int64_t), DISTARR_ERR_BOUNDS, "bounds")
    call check(distarr_fetch_op(c_loc(old), c_loc(hits), 0_c_int32_t, seg, 0_c_int64_t, &
                                DISTARR_DTYPE_F64, DISTARR_OP_BXOR), DISTARR_ERR_DTYPE, "dtype")
    call check(distarr_fetch_op(c_null_ptr, c_loc(hits), 0_c_int32_t, seg, 0_c_int64_t, &
                                DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_ERR_NULL, "null")
    req = 12345
    call check(distarr_wait(req), DISTARR_ERR_HANDLE, "forged request")
    call check(distarr_gmem_free(seg), DISTARR_OK, "gmem_free")
    call check(distarr_gmem_free(seg), DISTARR_ERR_SEGMENT, "double free")

    if (me == 0) write (*, '(a, f8.5, a, i0, a)') "f_pi: pi ~ ", pi_est, " from ", counters(2), " darts"
    call check(distarr_finalize(), DISTARR_OK, "finalize")
    call check(distarr_rank(me), DISTARR_ERR_STATE, "after finalize")
    call MPI_Finalize(ierr)
    write (*, '(a, i0)') "distarr-test: ok rank=", me
    flush (6)

contains

    subroutine check(rc, expected, what)
        integer(c_int), intent(in) :: rc, expected
        character(len=*), intent(in) :: what
        if (rc /= expected) then
            write (*, '(a, a, a, i0, a, i0, a, a)') "f_pi: ", what, ": got ", rc, ", expected ", expected, &
                " - ", distarr_message(rc)
            flush (6)
            error stop 1
        end if
    end subroutine

    subroutine fail(what)
        character(len=*), intent(in) :: what
        write (*, '(a, a)') "f_pi: check failed: ", what
        flush (6)
        error stop 1
    end subroutine

    !> xorshift64 (logical shifts: no overflow), mapped to [0, 1) with 53 bits.
    real(c_double) function next_uniform(s)
        integer(c_int64_t), intent(inout) :: s
        s = ieor(s, ishft(s, 13))
        s = ieor(s, ishft(s, -7))
        s = ieor(s, ishft(s, 17))
        next_uniform = real(ishft(s, -11), c_double) * 2.0_c_double**(-53)
    end function
end program f_pi
