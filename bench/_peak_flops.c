// The machine's peak fp32 FLOP/s as a short FMA loop measures it: every core runs independent chains of fused
// multiply-adds on the widest vectors the compiler targets (-march=native), enough chains to hide the FMA latency.
// Prints one JSON line: {"gflops": total, "threads": n, "lanes": fp32 lanes per vector, "seconds": the slowest thread's CPU
// seconds}.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__AVX512F__)
#define BYTES 64
#define CHAINS 24 // 32 zmm registers: 24 accumulators, the multiplier and the addend
#elif defined(__AVX__)
#define BYTES 32
#define CHAINS 12 // 16 ymm registers
#else
#define BYTES 16
#define CHAINS 12
#endif
typedef float vec __attribute__((vector_size(BYTES)));
#define LANES (BYTES / 4)
#define ITERATIONS 20000000L

// The thread's own CPU time, not the wall clock: a core shared with another process still gives its peak per second
// of the thread's running.
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *run(void *arg) {
  vec acc[CHAINS];
  // Multiplier and addend read through volatile so the loop cannot be folded away.
  volatile float m_in = 0.999999f, a_in = 1e-7f;
  vec m, a;
  for (int l = 0; l < LANES; l++) m[l] = m_in, a[l] = a_in;
  for (int c = 0; c < CHAINS; c++) acc[c] = a * (float)c;
  double start = now();
  for (long i = 0; i < ITERATIONS; i++) {
#pragma GCC unroll 24
    for (int c = 0; c < CHAINS; c++) acc[c] = acc[c] * m + a;
  }
  double seconds = now() - start;
  float sum = 0;
  for (int c = 0; c < CHAINS; c++) sum += acc[c][0];
  ((double *)arg)[0] = seconds;
  ((double *)arg)[1] = sum; // kept so the chains are live
  return NULL;
}

int main(void) {
  long threads = sysconf(_SC_NPROCESSORS_ONLN);
  if (threads < 1) threads = 1;
  pthread_t *ids = malloc(sizeof(pthread_t) * threads);
  double (*results)[2] = malloc(sizeof(double[2]) * threads);
  for (long t = 0; t < threads; t++) pthread_create(&ids[t], NULL, run, results[t]);
  double slowest = 0, check = 0;
  for (long t = 0; t < threads; t++) {
    pthread_join(ids[t], NULL);
    if (results[t][0] > slowest) slowest = results[t][0];
    check += results[t][1];
  }
  double flops = (double)threads * ITERATIONS * CHAINS * LANES * 2;
  printf("{\"gflops\": %.1f, \"threads\": %ld, \"lanes\": %d, \"seconds\": %.3f, \"check\": %g}\n", flops / slowest / 1e9,
         threads, LANES, slowest, check);
  return 0;
}
