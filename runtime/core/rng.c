/* The default generator: xoshiro256** seeded through splitmix64, shared by
 * parameter initialisation and dropout, guarded by a mutex so that user
 * threads may create modules concurrently.  Not PyTorch's mt19937 stream:
 * weights that must match PyTorch are loaded from its state_dict. */
#include "runtime/core/core.h"
#include <pthread.h>

static pthread_mutex_t rng_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t rng_s[4];
static bool rng_seeded;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void seed_locked(uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng_s[i] = splitmix64(&x);
    rng_seeded = true;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next_locked(void)
{
    if (!rng_seeded)
        seed_locked(67280421310721ull); /* PyTorch's default seed value */
    uint64_t r = rotl(rng_s[1] * 5, 7) * 9;
    uint64_t t = rng_s[1] << 17;
    rng_s[2] ^= rng_s[0];
    rng_s[3] ^= rng_s[1];
    rng_s[1] ^= rng_s[2];
    rng_s[0] ^= rng_s[3];
    rng_s[2] ^= t;
    rng_s[3] = rotl(rng_s[3], 45);
    return r;
}

LAM_API void lam_manual_seed(uint64_t seed)
{
    pthread_mutex_lock(&rng_lock);
    seed_locked(seed);
    pthread_mutex_unlock(&rng_lock);
}

void lam__rand_unit(double *out, size_t n)
{
    pthread_mutex_lock(&rng_lock);
    for (size_t i = 0; i < n; i++)
        out[i] = (double)(next_locked() >> 11) * 0x1.0p-53;
    pthread_mutex_unlock(&rng_lock);
}

void lam__rand_uniform(float *out, size_t n, float lo, float hi)
{
    pthread_mutex_lock(&rng_lock);
    for (size_t i = 0; i < n; i++) {
        double u = (double)(next_locked() >> 40) * 0x1.0p-24; /* [0, 1) on a float grid */
        float v = (float)(lo + (hi - lo) * u);
        out[i] = v < hi ? v : lo; /* guard rounding up to hi */
    }
    pthread_mutex_unlock(&rng_lock);
}
