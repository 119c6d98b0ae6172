/* Probe behind the heap's window design (see README "Window kinds"): does MPI_Win_shared_query
 * work on an MPI_Win_allocate window? Measured 2026-11-23: Open MPI 4.1.4 returns 53
 * (MPI_ERR_RMA_FLAVOR), MPICH 4.0.2 an error; and 64-bit CAS to self on default osc/rdma segfaults.
 * Run: mpicc shared_query.c -o sq && OMPI_MCA_osc=sm,rdma OMPI_MCA_osc_rdma_priority=1 mpirun -n 2 ./sq */
#include <mpi.h>
#include <stdio.h>
#include <stdint.h>
int main(int argc,char**argv){
  int prov; MPI_Init_thread(&argc,&argv,MPI_THREAD_MULTIPLE,&prov);
  int r,n; MPI_Comm_rank(MPI_COMM_WORLD,&r); MPI_Comm_size(MPI_COMM_WORLD,&n);
  char ver[MPI_MAX_LIBRARY_VERSION_STRING]; int vl; MPI_Get_library_version(ver,&vl);
  if(!r) printf("prov=%d %.60s\n",prov,ver);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  void*base; MPI_Win w;
  int rc=MPI_Win_allocate(1<<20,1,MPI_INFO_NULL,MPI_COMM_WORLD,&base,&w);
  MPI_Win_set_errhandler(w, MPI_ERRORS_RETURN);
  MPI_Win_lock_all(MPI_MODE_NOCHECK,w);
  ((int64_t*)base)[0]=100+r;
  MPI_Win_sync(w); MPI_Barrier(MPI_COMM_WORLD); MPI_Win_sync(w);
  for(int p=0;p<n;p++){ MPI_Aint sz; int du; void*pb=NULL;
    rc=MPI_Win_shared_query(w,p,&sz,&du,&pb);
    printf("rank %d query %d rc=%d sz=%ld ptr=%p val=%ld\n",r,p,rc,(long)sz,pb, (rc==0&&pb)?((int64_t*)pb)[0]:-1);
  }
  int64_t res=0, cmp=100+r, sw=7;
  rc=MPI_Compare_and_swap(&sw,&cmp,&res,MPI_INT64_T,r,0,w); MPI_Win_flush(r,w);
  printf("rank %d cas self rc=%d res=%ld now=%ld\n",r,rc,res,((int64_t*)base)[0]);
  int flav; void* fp; int flag; MPI_Win_get_attr(w, MPI_WIN_CREATE_FLAVOR, &fp, &flag); printf("flavor=%d (alloc=%d)\n", *(int*)fp, MPI_WIN_FLAVOR_ALLOCATE);
  MPI_Win_unlock_all(w); MPI_Win_free(&w); MPI_Finalize(); }
